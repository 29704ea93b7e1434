import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { type CliRun, runCli } from '../servers/run-cli.js';

// Issue #21 part 1: `scopegate test` runs cases of Grafana users and teams (`[auth.grafana]`) offline. Grafana's
// signing keys and teams API are a stand-in made for the run; the X-Grafana-Id a case presents is signed with its
// key, and the team map the gateway reads gives each user the teams its cases name. The presenters, team grants
// and deny rules are the configured ones, through the real CLI and the gateway `serve` builds.

const TOKENS = {
  'tok-ds': { name: 'grafana-ds', tenant: 'grafana' },
  'tok-a': { name: 'team-a', tenant: 'team-a', namespaces: ['team-a'] },
};

function configText(dir: string): string {
  return `
backend_type = "file"
[file]
path = "${join(dir, 'tokens.json')}"
[proxy]
listen = "127.0.0.1:0"
[[proxy.upstreams]]
name = "prometheus"
match = "prometheus\\\\.example\\\\.com"
upstream = "https://prometheus.internal:9090"
type = "prometheus"
timeout = "5s"
[auth.grafana]
url = "https://grafana.internal/"
api_token_file = "${join(dir, 'no-such-token-file')}"
presenters = [{ authenticator = "static-token", subject = "grafana-ds" }]
teams = [
  { name = "alpha", tenants = ["team-a"], selectors = [{ namespace = "team-a" }] },
  { uid = "beta-uid", tenants = ["team-b"], selectors = [{ namespace = "team-b" }] },
]
`;
}

const PROM = 'prometheus.example.com';
const query = (q: string) => ({ host: PROM, path: '/api/v1/query', params: { query: q } });
const viaGrafana = { token: 'grafana-ds' };

const CASES = [
  {
    name: 'a user of team alpha reads team-a only',
    identity: { grafana: { user: 7, teams: ['alpha'], login: 'alice', via: viaGrafana } },
    request: query('up'),
    expect: { allowed: true, tenant: 'team-a', query: 'up{namespace="team-a"}', policy_source: 'grafana_teams' },
  },
  {
    name: 'a user of the team found by uid reads team-b only',
    identity: { grafana: { user: 8, teams: ['beta-uid'], via: viaGrafana } },
    request: query('up'),
    expect: { allowed: true, tenant: 'team-b', query_contains: 'namespace="team-b"', query_not_contains: 'team-a' },
  },
  {
    name: 'a user in no mapped team is refused',
    identity: { grafana: { user: 9, via: viaGrafana } },
    request: query('up'),
    expect: { allowed: false, status: 403, code: 'grafana_no_team' },
  },
  {
    name: 'a Grafana user presented by a credential that is not a presenter is refused',
    identity: { grafana: { user: 7, teams: ['alpha'], via: { token: 'team-a' } } },
    request: query('up'),
    expect: { allowed: false, status: 403, code: 'grafana_channel_not_allowed' },
  },
];

let dir = '';
const runs = new Map<string, CliRun>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scopegate-policy-grafana-'));
  await writeFile(join(dir, 'tokens.json'), JSON.stringify(TOKENS));
  const config = join(dir, 'scopegate.toml');
  await writeFile(config, configText(dir));
  const good = join(dir, 'grafana.yaml');
  await writeFile(good, stringifyYaml({ cases: CASES }));
  // The same cases, each expecting the other user's outcome: every one must fail.
  const swapped = join(dir, 'swapped.yaml');
  await writeFile(
    swapped,
    stringifyYaml({ cases: CASES.map((c, i) => ({ ...c, expect: (CASES[(i + 2) % CASES.length] as (typeof CASES)[number]).expect })) }),
  );
  const conflicting = join(dir, 'conflicting.yaml');
  await writeFile(
    conflicting,
    stringifyYaml({
      cases: [CASES[0], { ...CASES[0], name: 'alice again', identity: { grafana: { user: 7, teams: ['beta-uid'], via: viaGrafana } } }],
    }),
  );
  const noGrafana = join(dir, 'no-grafana.toml');
  await writeFile(noGrafana, configText(dir).replace(/\[auth\.grafana\][\s\S]*$/, ''));
  const [pass, fail, conflict, unconfigured] = await Promise.all([
    runCli(['test', '--config', config, good]),
    runCli(['test', '--config', config, swapped]),
    runCli(['test', '--config', config, conflicting]),
    runCli(['test', '--config', noGrafana, good]),
  ]);
  runs.set('pass', pass).set('fail', fail).set('conflict', conflict).set('unconfigured', unconfigured);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(name: string): CliRun {
  const found = runs.get(name);
  assert.ok(found, name);
  return found;
}

test('Grafana users: their teams decide the tenant and the policy; no team and a wrong presenter are refused', () => {
  const { code, stdout, stderr } = run('pass');
  assert.equal(code, 0, stdout + stderr);
  assert.equal(stdout, 'ok: 4 passed, 0 failed, in 1 file\n');
});

test("each case held against another user's outcome fails, with what the gateway did", () => {
  const { code, stdout } = run('fail');
  assert.equal(code, 1);
  assert.match(stdout, /a user of team alpha reads team-a only: allowed: expected false, got true/);
  assert.match(
    stdout,
    /a Grafana user presented by .*: allowed: expected true, got false \(status 403, code grafana_channel_not_allowed\)/,
  );
  assert.match(stdout, /^FAILED: 0 passed, 4 failed, in 1 file$/m);
});

test('a user given other teams in another case, or a Grafana user without [auth.grafana]: said, not guessed', () => {
  assert.equal(run('conflict').code, 2);
  assert.match(run('conflict').stderr, /Grafana user 7 is in teams \[alpha\] in one case and \[beta-uid\] in "alice again"/);
  const unconfigured = run('unconfigured');
  assert.equal(unconfigured.code, 1);
  assert.match(unconfigured.stdout, /identity: a Grafana user was given, but \[auth\.grafana\] is not configured/);
});
