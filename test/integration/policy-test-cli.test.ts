import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type CliRun, runCli } from '../servers/run-cli.js';

// Issue #21 part 1: `scopegate test` runs table-driven policy cases offline through the gateway `serve` builds
// (createApp, the proxy handler on a real socket, an upstream that captures what it is sent). The CLI is
// spawned as users run it; every run starts at once in `before`, so the file costs about one CLI start-up.

const TOKENS = {
  'tok-a': { name: 'team-a', tenant: 'team-a', namespaces: ['team-a'] },
  'tok-b': { name: 'team-b', tenant: 'team-b', namespaces: ['team-b'], scopes: ['read'] },
  'tok-none': { name: 'no-policy', tenant: 'team-c' },
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
[[proxy.upstreams]]
name = "alertmanager"
match = "alertmanager\\\\.example\\\\.com"
upstream = "http://alertmanager.internal:9093"
type = "alertmanager"
timeout = "5s"
[limits]
backend = "redis"
[limits.redis]
url = "redis://redis.internal:6379"
[[limits.rules]]
name = "readers"
endpoints = ["read"]
rate = 1000
[[limits.rules]]
name = "short-ranges"
endpoints = ["prometheus.query_range"]
max_range = "1h"
`;
}

const PROM = 'prometheus.example.com';
const AM = 'alertmanager.example.com';
const silence = (id: string, namespace: string) => ({
  id,
  status: { state: 'active' },
  matchers: [{ name: 'namespace', value: namespace, isRegex: false, isEqual: true }],
  comment: `silence of ${namespace}`,
});

/** Cases that all hold; `wrong` changes a few expectations so that they fail. */
function cases(wrong = false) {
  return {
    cases: [
      {
        name: 'team-a query is enforced',
        identity: { token: 'team-a' },
        request: { host: PROM, path: '/api/v1/query', params: { query: 'up{namespace="team-b"}' } },
        expect: {
          allowed: true,
          tenant: 'team-a',
          endpoint: 'prometheus.query',
          query: wrong ? 'up' : 'up{namespace="team-a"}',
          query_contains: 'namespace="team-a"',
          query_not_contains: 'team-b',
          limits: ['readers'],
          policy_source: 'token_entry',
        },
      },
      {
        name: 'a range over max_range is refused by its rule',
        identity: { token: 'team-a' },
        request: { host: PROM, path: '/api/v1/query_range', form: { query: 'up', start: '0', end: '7200', step: '60' } },
        expect: {
          allowed: false,
          status: 422,
          code: wrong ? 'rate_limited' : 'query_range_too_long',
          limit: 'short-ranges',
          endpoint: 'prometheus.query_range',
        },
      },
      {
        name: 'no policy, implicit deny',
        identity: { token: 'no-policy' },
        request: { host: PROM, path: '/api/v1/query', params: { query: 'up' } },
        expect: { allowed: wrong, status: 403, code: 'no_label_policy' },
      },
      {
        name: 'deleting its own silence: the gateway looks it up first',
        identity: { token: 'team-a' },
        request: { host: AM, method: 'DELETE', path: '/api/v2/silence/0c1d' },
        upstream: [{ path: '/api/v2/silence/0c1d', status: 200, body: silence('0c1d', 'team-a') }],
        expect: { allowed: true, endpoint: 'alertmanager.silence_delete', upstream_path: '/api/v2/silence/0c1d' },
      },
      {
        name: "another tenant's silence does not exist for team-a",
        identity: { token: 'team-a' },
        request: { host: AM, method: 'DELETE', path: '/api/v2/silence/0c1e' },
        upstream: [{ path: '/api/v2/silence/0c1e', status: 200, body: silence('0c1e', 'team-b') }],
        expect: { allowed: false, status: 404, code: 'silence_not_found' },
      },
      {
        name: 'silences are filtered to the policy',
        identity: { token: 'team-a' },
        request: { host: AM, path: '/api/v2/silences' },
        upstream: [{ path: '/api/v2/silences', body: [silence('1', 'team-a'), silence('2', 'team-b')] }],
        expect: { allowed: true, response_contains: 'silence of team-a', response_not_contains: 'silence of team-b' },
      },
      {
        name: 'a read-only token cannot post a silence',
        identity: { token: 'team-b' },
        request: { host: AM, method: 'POST', path: '/api/v2/silences', body: '{}', headers: { 'content-type': 'application/json' } },
        expect: { allowed: false, status: 403, code: 'scope_not_allowed' },
      },
      {
        name: 'an unknown host',
        identity: { token: 'team-a' },
        request: { host: 'nowhere.example.com', path: '/api/v1/query' },
        expect: { allowed: false, status: 404, code: 'no_upstream' },
      },
    ],
  };
}

let dir: string;
const runs = new Map<string, CliRun>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scopegate-policy-test-'));
  await writeFile(join(dir, 'tokens.json'), JSON.stringify(TOKENS));
  const config = join(dir, 'scopegate.toml');
  await writeFile(config, configText(dir));
  await writeFile(join(dir, 'broken-config.toml'), '[proxy]\nlisten = 3\n');
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  await writeFile(good, JSON.stringify(cases()));
  await writeFile(bad, JSON.stringify(cases(true)));
  await writeFile(join(dir, 'unknown-key.yaml'), 'cases:\n  - name: x\n    request: { path: / }\n    expect: { allowd: true }\n');
  const init = join(dir, 'starter.yaml');
  const all = await Promise.all([
    runCli(['test', '--config', config, good]),
    runCli(['test', '--config', config, bad]),
    runCli(['test', '--config', config, '--format', 'junit', good, bad]),
    runCli(['test', '--config', config, join(dir, 'unknown-key.yaml')]),
    runCli(['test', '--config', join(dir, 'broken-config.toml'), good]),
    runCli(['test', '--config', config]),
    runCli(['test', '--config', config, '--init', init]).then(async (run) => ({
      run,
      again: await runCli(['test', '--config', config, init]),
    })),
  ]);
  const [pass, fail, junit, unknownKey, brokenConfig, noFiles, initRuns] = all;
  runs
    .set('pass', pass)
    .set('fail', fail)
    .set('junit', junit)
    .set('unknownKey', unknownKey)
    .set('brokenConfig', brokenConfig)
    .set('noFiles', noFiles);
  runs
    .set('init', initRuns.run)
    .set('initAgain', initRuns.again)
    .set('initFile', { code: 0, stdout: await readFile(init, 'utf8').catch(() => ''), stderr: '' });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(name: string): CliRun {
  const found = runs.get(name);
  assert.ok(found, name);
  return found;
}

test('cases that hold: exit 0 and a one-line summary (tokens, enforcement, limits, look-ups and filtering with canned answers)', () => {
  const { code, stdout, stderr } = run('pass');
  assert.equal(code, 0, stdout + stderr);
  assert.equal(stdout, 'ok: 8 passed, 0 failed, in 1 file\n');
});

test('cases that do not hold: exit 1, one line per failing case with expected and actual', () => {
  const { code, stdout } = run('fail');
  assert.equal(code, 1);
  const lines = stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4, stdout);
  assert.match(
    lines[0] as string,
    /^FAIL .*bad\.yaml: team-a query is enforced: query: expected "up", got "up\{namespace=\\"team-a\\"\}"$/,
  );
  assert.match(
    lines[1] as string,
    /a range over max_range is refused by its rule: code: expected "rate_limited", got "query_range_too_long"$/,
  );
  assert.match(lines[2] as string, /no policy, implicit deny: allowed: expected true, got false \(status 403, code no_label_policy\)$/);
  assert.equal(lines[3], 'FAILED: 5 passed, 3 failed, in 1 file');
});

test('--format junit: a testsuite per file, a failure per failing case', () => {
  const { code, stdout } = run('junit');
  assert.equal(code, 1);
  assert.match(stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="scopegate test">/);
  assert.match(stdout, /<testsuite name="[^"]*good\.yaml" tests="8" failures="0"/);
  assert.match(stdout, /<testsuite name="[^"]*bad\.yaml" tests="8" failures="3"/);
  assert.equal(stdout.match(/<failure /g)?.length, 3);
});

test('a test file off the schema, a config that does not load, no test file: exit 2 with the reason', () => {
  assert.equal(run('unknownKey').code, 2);
  assert.match(run('unknownKey').stderr, /unknown-key\.yaml: .*allowd/);
  assert.equal(run('brokenConfig').code, 2);
  assert.match(run('brokenConfig').stderr, /invalid configuration .*broken-config\.toml/);
  assert.equal(run('noFiles').code, 2);
  assert.match(run('noFiles').stderr, /name at least one test file/);
});

test('--init writes an allow and a deny case per identity, which then pass', () => {
  assert.equal(run('init').code, 0, run('init').stderr);
  const written = parseYaml(run('initFile').stdout) as {
    cases: { name: string; identity: { token: string }; expect: { allowed: boolean; code?: string } }[];
  };
  assert.equal(written.cases.length, 6);
  for (const name of ['team-a', 'team-b', 'no-policy']) {
    const own = written.cases.filter((c) => c.identity.token === name);
    assert.equal(own.length, 2, name);
    // The endpoint is authorised before the tenant header is read: an identity without a policy stops there.
    assert.equal(own[1]?.expect.code, name === 'no-policy' ? 'no_label_policy' : 'tenant_not_allowed', name);
  }
  assert.equal(written.cases[0]?.expect.allowed, true);
  assert.equal(written.cases.find((c) => c.identity.token === 'no-policy')?.expect.code, 'no_label_policy');
  assert.equal(run('initAgain').code, 0, run('initAgain').stdout);
  assert.match(run('initAgain').stdout, /^ok: 6 passed, 0 failed/);
});
