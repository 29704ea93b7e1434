import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliRun, runCli } from '../servers/run-cli.js';

// Issue #3: `scopegate explain` prints the query as the gateway would send it upstream, for a configured token
// (authenticated by the configured backend, as `serve` would) or for a policy given inline. The CLI is
// spawned as users run it; every run starts at once in `before`, so the file costs one CLI start-up.

const RUNS = {
  token: (config: string) => [
    'explain',
    '--config',
    config,
    '--token',
    'tok-a',
    '--query',
    'sum(rate(http_requests_total{namespace="team-b"}[5m])) by (code)',
  ],
  policy: (config: string) => [
    'explain',
    '--config',
    config,
    '--policy',
    '{"namespaces":["team-a"]}',
    '--query',
    'http_requests_total or node_boot_time_seconds # \r or secret',
  ],
  twoNamespaces: (config: string) => [
    'explain',
    '--config',
    config,
    '--policy',
    '{"namespaces":["team-a","team-b"]}',
    '--query',
    '{__name__=~".+", namespace!=""}',
  ],
  invalid: (config: string) => ['explain', '--config', config, '--token', 'tok-a', '--query', 'sum(http_requests_total'],
  noPolicy: (config: string) => ['explain', '--config', config, '--token', 'tok-none', '--query', 'up'],
  unknownToken: (config: string) => ['explain', '--config', config, '--token', 'tok-unknown', '--query', 'up'],
  victoriametrics: (config: string) => [
    'explain',
    '--config',
    config,
    '--policy',
    '{"namespaces":["team-a"]}',
    '--type',
    'victoriametrics',
    '--query',
    'WITH (x = up) x',
  ],
  selectors: (config: string) => [
    'explain',
    '--config',
    config,
    '--policy',
    '{"selectors":[{"namespace":"a","env":"prod"},{"namespace":"shared"}]}',
    '--query',
    'rate(up[5m])',
  ],
  selectorsRefused: (config: string) => [
    'explain',
    '--config',
    config,
    '--policy',
    '{"selectors":[{"namespace":"a","env":"prod"},{"namespace":"shared"}]}',
    '--query',
    'up[5m]',
  ],
  // The same config with `[static_tokens] policy_label = "team"`: an inline entry reads as a token entry does.
  policyLabel: (config: string) => [
    'explain',
    '--config',
    config.replace(/\.toml$/, '-team.toml'),
    '--policy',
    '{"namespaces":["a"]}',
    '--query',
    'up{namespace="b"}',
  ],
} as const;

let dir: string;
const results = new Map<keyof typeof RUNS, CliRun>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scopegate-explain-'));
  const tokens = join(dir, 'tokens.json');
  await writeFile(tokens, JSON.stringify({ 'tok-a': { tenant: 'tenant-a', namespace: 'team-a' }, 'tok-none': 'tenant-x' }));
  const config = join(dir, 'scopegate.toml');
  await writeFile(
    config,
    [
      'backend_type = "file"',
      '[file]',
      `path = ${JSON.stringify(tokens)}`,
      'watch = false',
      '[proxy]',
      'listen = "127.0.0.1:0"',
      '[[proxy.upstreams]]',
      'match = ".*"',
      'upstream = "http://127.0.0.1:9"',
      'type = "prometheus"',
      '[admin]',
      'listen = "127.0.0.1:0"',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'scopegate-team.toml'), `${await readFile(config, 'utf8')}[static_tokens]\npolicy_label = "team"\n`);
  const names = Object.keys(RUNS) as (keyof typeof RUNS)[];
  const runs = await Promise.all(names.map((name) => runCli(RUNS[name](config))));
  names.forEach((name, i) => results.set(name, runs[i] as CliRun));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function result(name: keyof typeof RUNS): CliRun {
  const run = results.get(name);
  assert.ok(run !== undefined, `no run named ${name}`);
  return run;
}

test('--token: prints the policy of the token and the query as sent upstream', () => {
  const run = result('token');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '# policy: namespace="team-a"\nsum(rate(http_requests_total{namespace="team-a"}[5m])) by (code)\n');
});

test('--policy: every selector is enforced and a comment ended by \\r is dropped', () => {
  const run = result('policy');
  assert.equal(run.code, 0, run.stderr);
  const [header, query] = run.stdout.split('\n');
  assert.equal(header, '# policy: namespace="team-a"');
  assert.equal(query?.trimEnd(), 'http_requests_total{namespace="team-a"} or node_boot_time_seconds{namespace="team-a"}');
});

test('--policy with two namespaces: one anchored alternation, negative matcher kept', () => {
  const run = result('twoNamespaces');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '# policy: namespace=~"team-a|team-b"\n{__name__=~".+", namespace!="", namespace=~"team-a|team-b"}\n');
});

test('an invalid query prints the 400 reason and exits 1 (the gateway would refuse it)', () => {
  const run = result('invalid');
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, '# refused with 400: syntax error at position 23\n');
});

test('--policy constrains the configured static_tokens.policy_label, as a token entry would', () => {
  const run = result('policyLabel');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '# policy: team="a"\nup{namespace="b", team="a"}\n');
});

test('--type victoriametrics: MetricsQL is shown as sent, with the extra_filters[] that enforces it', () => {
  const run = result('victoriametrics');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    '# policy: namespace="team-a"\nWITH (x = up) x\n# not PromQL (MetricsQL?): sent as written, enforced by VictoriaMetrics with the filter below\nextra_filters[]={namespace="team-a"}\n',
  );
});

test('--policy with a selectors list: the union, or the refusal when PromQL cannot say it exactly', () => {
  const run = result('selectors');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    '# policy: {namespace="a",env="prod"} or {namespace="shared"}\n(rate(up{namespace="a", env="prod"}[5m]) or rate(up{namespace="shared"}[5m]))\n',
  );
  const refused = result('selectorsRefused');
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stdout, /^# refused with 403: a range vector outside a per-series function/);
});

test('a token without a label policy prints the implicit-deny note and exits 1', () => {
  const run = result('noPolicy');
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, '# this identity has no label policy: the gateway answers 403 (implicit deny)\n');
});

test('an unknown token is reported in one line on stderr, exit 1, no stack trace', () => {
  const run = result('unknownToken');
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, 'the token was refused: invalid_token\n');
});

// Usage errors are decided before anything is built: checked in-process through the CLI's `main` (the exit
// code it returns is the process's), so the file spawns no more gateways than the cases above need.
test('usage errors exit 2 with the reason and the usage, never 1', async () => {
  const config = join(dir, 'scopegate.toml');
  const cases: [string[], RegExp][] = [
    [['explain', '--config', config, '--token', 'tok-a'], /^explain: --query is required\n/],
    [
      ['explain', '--config', config, '--token', 'tok-a', '--type', 'graphite', '--query', 'up'],
      /^explain: --type must be one of loki, mimir, prometheus, tempo, victoriametrics\n/,
    ],
    [['explain', '--config', config, '--policy', '{namespaces', '--query', 'up'], /^explain: --policy: /],
    [['explain', '--config', config, '--query', 'up'], /^explain: --token or --policy is required\n/],
  ];
  for (const [argv, reason] of cases) {
    const { code, stderr } = await runMainInProcess(argv);
    assert.equal(code, 2, `${argv.join(' ')}: ${stderr}`);
    assert.match(stderr, reason, argv.join(' '));
    assert.match(stderr, /Usage:/, argv.join(' '));
  }
});

/** `main` as the binary runs it, its stderr captured (stdout is the test runner's: left alone). */
async function runMainInProcess(argv: string[]): Promise<{ code: number; stderr: string }> {
  const { main } = await import('../../src/cli/main.js');
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    process.stderr.write = write;
  }
}
