/**
 * The demo stack: a real Prometheus (Debian's package) scraping live series of two tenants, and scopegate in
 * front of it enforcing each token's namespace inside every query. Prints tokens and ready-to-paste curls.
 * Stop with Ctrl-C. Ports: scopegate 127.0.0.1:8000 (admin :8081), or SCOPEGATE_DEMO_PORT / _ADMIN_PORT.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findFreePort } from '../../test/servers/free-port.js';
import { startManagedProcess } from '../../test/servers/managed-process.js';
import { startDemoExporter } from './exporter.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const dir = join(root, '.demo');
mkdirSync(dir, { recursive: true });
const gatewayPort = Number(process.env.SCOPEGATE_DEMO_PORT ?? 8000);
const adminPort = Number(process.env.SCOPEGATE_DEMO_ADMIN_PORT ?? 8081);

const exporterPort = await findFreePort();
const exporter = await startDemoExporter(exporterPort);
const promPort = await findFreePort();
writeFileSync(
  join(dir, 'prometheus.yml'),
  `global: { scrape_interval: 5s, evaluation_interval: 5s }
scrape_configs:
  - job_name: demo
    honor_labels: true
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
`,
);
const prometheus = startManagedProcess('/usr/bin/prometheus', [
  `--config.file=${join(dir, 'prometheus.yml')}`,
  `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
  `--web.listen-address=127.0.0.1:${promPort}`,
  '--log.level=warn',
], dir);
await prometheus.waitUntilOk(`http://127.0.0.1:${promPort}/-/ready`);

const tokens = {
  'demo-token-team-a': { name: 'team-a-reader', tenant: 'team-a', namespaces: ['team-a'] },
  'demo-token-team-b': { name: 'team-b-reader', tenant: 'team-b', namespaces: ['team-b'] },
  'demo-token-admin': { name: 'platform-admin', tenant: 'platform', namespaces: ['.*'] },
};
writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokens, null, 2));
writeFileSync(
  join(dir, 'scopegate.toml'),
  `log_level = "info"
backend_type = "file"
[file]
path = "${join(dir, 'tokens.json')}"
[proxy]
listen = "127.0.0.1:${gatewayPort}"
[[proxy.upstreams]]
match = ".*"
upstream = "http://127.0.0.1:${promPort}"
type = "prometheus"
[admin]
listen = "127.0.0.1:${adminPort}"
`,
);
const gateway = spawn(process.execPath, [join(root, 'bin/scopegate.js'), 'serve', '--config', join(dir, 'scopegate.toml')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const readyUrl = `http://127.0.0.1:${adminPort}/ready`;
for (let i = 0; i < 100; i++) {
  const ok = await fetch(readyUrl).then((r) => r.ok, () => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 100));
}
// Let Prometheus scrape once so the first query has data.
await new Promise((r) => setTimeout(r, 6000));

const g = `http://127.0.0.1:${gatewayPort}`;
process.stdout.write(`
scopegate demo is running: gateway ${g}, admin http://127.0.0.1:${adminPort}, Prometheus http://127.0.0.1:${promPort}

Tokens (in ${join(dir, 'tokens.json')}):
  demo-token-team-a   tenant team-a, sees namespace="team-a" only
  demo-token-team-b   tenant team-b, sees namespace="team-b" only
  demo-token-admin    full access

Try:
  curl -s -H 'Authorization: Bearer demo-token-team-a' '${g}/api/v1/query' --data-urlencode 'query=sum by (namespace) (http_requests_total)'
  curl -s -H 'Authorization: Bearer demo-token-team-b' '${g}/api/v1/query' --data-urlencode 'query=http_requests_total{namespace="team-a"}'
  curl -s -H 'Authorization: Bearer demo-token-admin'  '${g}/api/v1/query' --data-urlencode 'query=sum by (namespace) (http_requests_total)'
  curl -s -H 'Authorization: Bearer demo-token-team-a' '${g}/api/v1/label/namespace/values'
  curl -s -H 'Authorization: Bearer wrong' '${g}/api/v1/query?query=up'
  curl -s '${g}/api/v1/admin/tsdb/snapshot' -X POST -H 'Authorization: Bearer demo-token-admin'
  curl -s http://127.0.0.1:${adminPort}/ready; curl -s http://127.0.0.1:${adminPort}/metrics | grep scopegate_requests_total
  node bin/scopegate.js explain --config ${join(dir, 'scopegate.toml')} --token demo-token-team-a --query 'rate(http_requests_total[5m]) or up'

Ctrl-C stops everything.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  gateway.kill('SIGTERM');
  await prometheus.stop();
  exporter.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
gateway.on('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`scopegate exited with code ${code}\n`);
    void stop();
  }
});
