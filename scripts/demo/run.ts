/**
 * The demo stack: a real Prometheus (Debian's package) scraping live series of two tenants, and scopegate in
 * front of it enforcing each token's namespace inside every query. Prints tokens and ready-to-paste curls.
 * Stop with Ctrl-C. Ports: scopegate 127.0.0.1:8000 (admin :8081), or SCOPEGATE_DEMO_PORT / _ADMIN_PORT;
 * files in .demo/ (or SCOPEGATE_DEMO_DIR). The banner is printed only once the gateway answers /ready; when any
 * process of the demo exits, the demo stops the others, says which one and why, and exits 1.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { findFreePort } from '../../test/servers/free-port.js';
import { startManagedProcess, type ManagedProcess } from '../../test/servers/managed-process.js';
import { missingGlibcHeapEnv } from '../../src/server/glibc-heap.js';
import { missingYoungGenerationArgs } from '../../src/server/v8-young-generation.js';
import { startDemoExporter } from './exporter.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const dir = process.env.SCOPEGATE_DEMO_DIR ?? join(root, '.demo');
const prometheusDir = join(dir, 'prometheus'); // removed when Prometheus stops; the gateway's log is kept
mkdirSync(prometheusDir, { recursive: true });
const gatewayPort = Number(process.env.SCOPEGATE_DEMO_PORT ?? 8000);
const adminPort = Number(process.env.SCOPEGATE_DEMO_ADMIN_PORT ?? 8081);
/** How long the gateway and Prometheus may take to answer ready (a first run on a slow machine is slow). */
const readyTimeoutMs = Number(process.env.SCOPEGATE_DEMO_READY_TIMEOUT_MS ?? 120_000);
const logPath = join(dir, 'scopegate.log');
const shownLogPath = relative(process.cwd(), logPath) || logPath;

const exporterPort = await findFreePort();
const exporter = await startDemoExporter(exporterPort);
const promPort = await findFreePort();

let stopping = false;
let prometheus: ManagedProcess | undefined;
/** Stops every process of the demo; `reason` (a failure) is printed and makes the exit code 1. */
const stop = async (reason?: string): Promise<never> => {
  if (!stopping) {
    stopping = true;
    if (reason !== undefined) process.stderr.write(`\nscopegate demo stopped: ${reason}\n`);
    if (gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGTERM');
    await prometheus?.stop();
    exporter.close();
    process.exit(reason === undefined ? 0 : 1);
  }
  return new Promise<never>(() => undefined);
};

process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

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
// The gateway's JSON log (one access-log line per request, with the code of every refusal) goes to a file;
// its start-up errors (one line) go to the terminal.
const log = createWriteStream(logPath, { flags: 'w' });
// `serve`'s start-up settings (src/server/v8-young-generation.ts; glibc-heap.ts, opt-in), also where Node cannot re-exec.
const nodeArgs = missingYoungGenerationArgs([], process.env);
const gateway = spawn(process.execPath, [...nodeArgs, join(root, 'bin/scopegate.js'), 'serve', '--config', join(dir, 'scopegate.toml')], {
  env: { ...process.env, ...missingGlibcHeapEnv(process.env) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
gateway.stdout.pipe(log);
gateway.on('error', (error) => void stop(`the gateway could not be started: ${error.message}`));
gateway.on('exit', (code, signal) => {
  const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
  void stop(`the gateway exited (${how}); its error is above, its log is in ${shownLogPath}`);
});

writeFileSync(
  join(prometheusDir, 'prometheus.yml'),
  `global: { scrape_interval: 5s, evaluation_interval: 5s }
scrape_configs:
  - job_name: demo
    honor_labels: true
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
`,
);
prometheus = startManagedProcess(
  '/usr/bin/prometheus',
  [
    `--config.file=${join(prometheusDir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(prometheusDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ],
  prometheusDir,
);
const prometheusChild = prometheus.child;
prometheusChild.on('exit', (code, signal) => {
  const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
  void stop(`Prometheus exited (${how}):\n${prometheus?.output() ?? ''}`);
});

const readyUrl = `http://127.0.0.1:${adminPort}/ready`;
try {
  await prometheus.waitUntilOk(`http://127.0.0.1:${promPort}/-/ready`, readyTimeoutMs);
} catch (error) {
  await stop(`Prometheus did not become ready: ${(error as Error).message}`);
}
const deadline = Date.now() + readyTimeoutMs;
while (
  !(await fetch(readyUrl).then(
    (r) => r.ok,
    () => false,
  ))
) {
  if (Date.now() > deadline)
    await stop(`the gateway did not answer ${readyUrl} within ${readyTimeoutMs / 1000}s; its log is in ${shownLogPath}`);
  await new Promise((r) => setTimeout(r, 100));
}
// Let Prometheus scrape once so the first query has data.
await new Promise((r) => setTimeout(r, 6000));
if (stopping) await new Promise<never>(() => undefined);

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

Why was a request refused? The gateway's log has one line per request with its status and code:
  tail -f ${shownLogPath}

Ctrl-C stops everything.
`);
