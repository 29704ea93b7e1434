import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGrafana } from '../servers/grafana.js';
import { defaultTeams } from '../servers/grafana-gateway.js';
import { runCli } from '../servers/run-cli.js';

// Issue #20, item 6: `scopegate explain --grafana-user <id>` prints the user's teams, tenants, policy and the
// query as it would be sent, reading the teams once from the configured Grafana (the stand-in here).

test('explain --grafana-user: teams, tenants and the query as sent; refusals named by their code', async (t) => {
  const grafana = await startGrafana({ nowSeconds: () => Math.floor(Date.now() / 1000), teams: defaultTeams() });
  t.after(() => grafana.stop());
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-explain-grafana-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'scopegate.toml');
  await writeFile(
    config,
    [
      '[auth.grafana]',
      `url = ${JSON.stringify(grafana.url)}`,
      `api_token = ${JSON.stringify(grafana.apiToken)}`,
      'presenters = [{ authenticator = "static-token", subject = "grafana-ds" }]',
      'teams = [',
      '  { name = "alpha", tenants = ["tenant-a"], selectors = [{ namespace = "team-a" }] },',
      '  { uid = "uid-beta", tenants = ["tenant-b"], selectors = [{ namespace = ["team-b", "team-c"] }], scopes = ["read"] },',
      '  { id = 3, tenants = ["tenant-a"] },',
      ']',
      '[[proxy.upstreams]]',
      'match = ".*"',
      'upstream = "http://127.0.0.1:9"',
      'type = "prometheus"',
      '',
    ].join('\n'),
  );
  const explain = (user: string) =>
    runCli(['explain', '--config', config, '--grafana-user', user, '--query', 'sum(rate(http_requests_total[5m]))']);
  const [seven, ten, bad] = await Promise.all([explain('7'), explain('10'), explain('user:7')]);
  assert.equal(seven.code, 0, seven.stderr);
  assert.equal(
    seven.stdout,
    [
      '# grafana user 7, org 1, teams: alpha, beta',
      '# tenants: tenant-a, tenant-b; scopes: read, write',
      '# policy: namespace=~"team-a|team-b|team-c"',
      'sum(rate(http_requests_total{namespace=~"team-a|team-b|team-c"}[5m]))',
      '',
    ].join('\n'),
  );
  assert.equal(ten.code, 1);
  assert.match(ten.stderr, /grafana_no_team/);
  assert.equal(bad.code, 2);
});
