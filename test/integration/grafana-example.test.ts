import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { checkConfigFile } from '../../src/cli/check-files.js';
import { loadConfigFile } from '../../src/config/load.js';

// Issue #20, item 6: examples/grafana/ is a working start: the scopegate config passes check-config (with the
// files it names), and every provisioned Grafana data source points at a scopegate upstream of its type and
// carries the credential of the one presenter.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Datasource {
  name: string;
  type: string;
  url: string;
  jsonData?: Record<string, string>;
  secureJsonData?: Record<string, string>;
}

test("examples/grafana: the config checks, and the provisioned data sources reach scopegate with the presenter's credential", async () => {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    assert.deepEqual(await checkConfigFile('examples/grafana/scopegate.toml'), []);
    const config = await loadConfigFile('examples/grafana/scopegate.toml');
    const grafana = config.auth.grafana;
    assert.ok(grafana);
    assert.deepEqual(grafana.presenters, [{ authenticator: 'static-token', subject: 'grafana-ds' }]);
    const tokens = JSON.parse(await readFile('examples/grafana/tokens.json', 'utf8')) as Record<string, { name?: string }>;
    assert.deepEqual(
      Object.values(tokens).map((entry) => entry.name),
      ['grafana-ds'],
    );
    const provisioning = parseYaml(await readFile('examples/grafana/grafana-datasources.yaml', 'utf8')) as { datasources: Datasource[] };
    assert.deepEqual(provisioning.datasources.map((d) => d.type).sort(), ['loki', 'prometheus', 'tempo']);
    for (const datasource of provisioning.datasources) {
      const host = new URL(datasource.url).hostname;
      const upstream = config.proxy.upstreams.find((u) => u.match.test(host));
      assert.equal(upstream?.type, datasource.type, `${datasource.name} reaches a ${datasource.type} upstream`);
      assert.equal(datasource.jsonData?.httpHeaderName1, 'Authorization');
      assert.equal(datasource.secureJsonData?.httpHeaderValue1, 'Bearer ${SCOPEGATE_DS_TOKEN}');
    }
  } finally {
    process.chdir(cwd);
  }
});
