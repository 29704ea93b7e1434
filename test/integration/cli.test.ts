import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile } from '../../src/config/load.js';
import { createTestPki } from '../servers/tls-certs.js';

// Issue #2, project and interface: `scopegate check-config` (exit 0, or 1 and every bad key), `--help`,
// `--version`; the LGTM Auth Proxy TOML from the issue loads unchanged. Exit codes and output go through the
// real binary; what the loader accepts is checked in-process (check-config calls the same loadConfigFile).

// Verbatim from issue #2.
const LGTM_AUTH_PROXY_TOML = `backend_type = "secretsmanager"
log_level = "info"
[secretsmanager]
secret_id = "testing"
refresh_interval = "1m"
stale_threshold = "15m"
[proxy]
listen = ":8000"
[[proxy.upstreams]]
match = "loki\\\\.example\\\\.com"
upstream = "http://127.0.0.1:3100"
priority = 100
timeout = "30s"
max_idle_conns = 100
idle_conn_timeout = "90s"
[[proxy.upstreams]]
match = ".*"
upstream = "http://127.0.0.1:9009"
priority = 0
`;

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scopegate-cli-'));
});

after(() => rm(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function scopegate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/scopegate.js', ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

test('the LGTM Auth Proxy TOML from issue #2 passes check-config unchanged', async () => {
  assert.match(LGTM_AUTH_PROXY_TOML, /match = "loki\\\\\.example\\\\\.com"/, 'the TOML escapes are as in the issue');
  const path = await configFile('lgtm-auth-proxy.toml', LGTM_AUTH_PROXY_TOML);
  const run = await scopegate(['check-config', '--config', path]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `config ok: ${path}\n`);
});

test('a YAML config with ${ENV} substitution loads; an unset variable without a default is an error', async () => {
  const path = await configFile(
    'scopegate.yaml',
    [
      'backend_type: file',
      'file:',
      '  path: ${TOKENS_PATH}',
      'proxy:',
      '  upstreams:',
      '    - match: "prometheus\\\\.example\\\\.com"',
      '      upstream: ${PROM_URL:-http://127.0.0.1:9090}',
      '',
    ].join('\n'),
  );
  // check-config calls exactly this function.
  const config = await loadConfigFile(path, { TOKENS_PATH: '/etc/scopegate/tokens.json' });
  assert.equal(config.file?.path, '/etc/scopegate/tokens.json');
  assert.equal(config.proxy.upstreams[0]?.upstream.href, 'http://127.0.0.1:9090/');
  assert.ok(config.proxy.upstreams[0]?.match.test('Prometheus.example.com'));
  await assert.rejects(loadConfigFile(path, {}), (error: ConfigError) => {
    assert.deepEqual(error.problems, ['environment variable TOKENS_PATH is not set (referenced as ${TOKENS_PATH})']);
    return true;
  });
});

test('check-config exits 1 and names every bad key path', async () => {
  const path = await configFile(
    'bad.toml',
    `backend_type = "secretsmanager"
log_level = "loud"
[proxy]
listen = "8000"
listne = ":8000"
[[proxy.upstreams]]
match = "loki(\\\\.example"
upstream = "http://127.0.0.1:3100"
timeout = "thirty seconds"
[[proxy.upstreams]]
match = ".*"
upstream = "ftp://127.0.0.1:9009"
`,
  );
  const run = await scopegate(['check-config', '--config', path]);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  const problems = run.stderr
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
  const keys = problems.map((line) => line.slice(0, line.indexOf(': '))).sort();
  assert.deepEqual(keys, [
    'log_level',
    'proxy',
    'proxy.listen',
    'proxy.upstreams[0].match',
    'proxy.upstreams[0].timeout',
    'proxy.upstreams[1].upstream',
    // The backend without its section is reported in the same pass as every other problem.
    'secretsmanager',
  ]);
  assert.ok(
    problems.some((p) => p.startsWith('proxy.upstreams[0].match: invalid regular expression')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('proxy: ') && p.includes('"listne"')),
    'the typo is named',
  );
});

test('a token backend without its section is named', async () => {
  const path = await configFile('no-section.toml', LGTM_AUTH_PROXY_TOML.replace(/\[secretsmanager\][^[]*/, ''));
  await assert.rejects(loadConfigFile(path, {}), (error: ConfigError) => {
    assert.deepEqual(error.problems, ['secretsmanager: required when backend_type = "secretsmanager"']);
    return true;
  });
});

test('a TOML or YAML syntax error names the line and column', async () => {
  // In-process: check-config and serve read the file through this same function.
  const toml = await configFile('syntax.toml', 'backend_type = "file"\n[proxy]\nlisten = \n');
  const yaml = await configFile('syntax.yaml', 'backend_type: file\nproxy:\n  listen: [\n');
  await assert.rejects(loadConfigFile(toml, {}), (error: ConfigError) => {
    assert.match(error.problems[0] ?? '', /^TOML syntax error: .* at line 3, column \d+$/);
    return true;
  });
  await assert.rejects(loadConfigFile(yaml, {}), (error: ConfigError) => {
    assert.match(error.problems[0] ?? '', /^YAML syntax error: .* at line \d+, column \d+/);
    return true;
  });
});

test('check-config on a missing file exits 1 with the reason', async () => {
  const missing = await scopegate(['check-config', '--config', join(dir, 'nope.toml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read file: ENOENT/);
});

test('check-config reads every file the config names with the parser serve uses, and never prints a secret', async () => {
  const files = {
    tokens: await configFile('tokens.json', JSON.stringify({ 'sk-live-7f3a9c': { tenant: 'bad tenant!' } })),
    users: await configFile('users.yaml', 'users:\n  - { username: ana, password: pw1 }\n  - { username: ana, password: pw2 }\n'),
    secret: await configFile('hmac-secret', '\n'),
    jwks: await configFile('jwks.json', '{"nokeys": true}'),
    acl: join(dir, 'missing-acl.yaml'),
  };
  const toml = (tokens: string, users: string, secret: string, jwks: string, acl: string) =>
    [
      'backend_type = "file"',
      `file = { path = ${JSON.stringify(tokens)} }`,
      `acl = { file = ${JSON.stringify(acl)} }`,
      '[auth.basic]',
      `users_file = ${JSON.stringify(users)}`,
      '[auth.hmac_jwt]',
      `secret_file = ${JSON.stringify(secret)}`,
      '[auth.jwks]',
      `file = ${JSON.stringify(jwks)}`,
      '[proxy.tls]',
      `cert_file = ${JSON.stringify(jwks.replace(/jwks(-good)?\.json$/, 'tls-cert.pem'))}`,
      `key_file = ${JSON.stringify(jwks.replace(/jwks(-good)?\.json$/, 'tls-key.pem'))}`,
      '[[proxy.upstreams]]',
      'match = ".*"',
      'upstream = "http://127.0.0.1:9090"',
      '',
    ].join('\n');
  const bad = await scopegate([
    'check-config',
    '--config',
    await configFile('files-bad.toml', toml(files.tokens, files.users, files.secret, files.jwks, files.acl)),
  ]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.equal(bad.stdout, '');
  const problems = bad.stderr
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
  assert.deepEqual(problems.map((p) => p.slice(0, p.indexOf(': '))).sort(), [
    'acl.file',
    'auth.basic.users_file',
    'auth.hmac_jwt.secret_file',
    'auth.jwks.file',
    'file.path',
    'proxy.tls.cert_file',
    'proxy.tls.key_file',
  ]);
  assert.ok(
    problems.some((p) => p.startsWith(`acl.file: ${files.acl}: cannot read (ENOENT`)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('auth.basic.users_file: ') && p.includes('duplicate username "ana"')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p === `auth.hmac_jwt.secret_file: ${files.secret}: is empty`),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p === `auth.jwks.file: ${files.jwks}: not a JSON Web Key Set`),
    problems.join('\n'),
  );
  assert.ok(!bad.stderr.includes('sk-live-7f3a9c'), 'the token is never printed');

  // The same config with good files passes (PEM files are parsed by Node's TLS: they must be real).
  const pki = await createTestPki();
  const issued = await pki.issue('scopegate.test');
  await configFile('tls-cert.pem', issued.cert);
  await configFile('tls-key.pem', issued.key);
  await pki.remove();
  const good = {
    tokens: await configFile('tokens-good.json', JSON.stringify({ 'sk-live-7f3a9c': { tenant: 'team-a', namespace: 'team-a' } })),
    users: await configFile('users-good.yaml', 'users:\n  - { username: ana, password: pw1, namespace: team-a }\n'),
    secret: await configFile('hmac-secret-good', 'an-hs256-secret-of-at-least-32-bytes!\n'),
    jwks: await configFile('jwks-good.json', '{"keys": []}'),
    acl: await configFile('acl-good.yaml', 'team-a: team-a\nadmin: .*\n'),
  };
  const path = await configFile('files-good.toml', toml(good.tokens, good.users, good.secret, good.jwks, good.acl));
  const ok = await scopegate(['check-config', '--config', path]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `config ok: ${path}\n`);
});

// Issue #10: check-config said "config ok" for a config serve then refused (a short HMAC secret), stopped at
// the first bad token entry, and left out the files when the schema had errors. It now runs serve's own
// parsers and constructors (token set, HMAC secret length, PEM through Node's TLS) and lists everything at once.
test('check-config lists every problem at once: schema errors, every bad token entry, the files, secrets and PEM files serve would refuse', async () => {
  const pki = await createTestPki();
  const [one, other] = [await pki.issue('one.test'), await pki.issue('other.test')];
  const files = {
    tokens: await configFile(
      'two-bad-tokens.json',
      JSON.stringify({ 'tok-good': 'team-a', 'tok bad': 'team-b', 'tok-x': { tenant: 'team-c', scopes: ['root'] } }),
    ),
    notPem: await configFile('not-a-cert.pem', 'hello\n'),
  };
  const toml = (secret: string, keyFile: string) =>
    [
      'backend_type = "file"',
      'log_level = "loud"',
      `file = { path = ${JSON.stringify(files.tokens)} }`,
      '[auth.basic]',
      `users_file = ${JSON.stringify(join(dir, 'no-such-users.yaml'))}`,
      '[auth.hmac_jwt]',
      `secret = ${JSON.stringify(secret)}`,
      '[proxy.tls]',
      `cert_file = ${JSON.stringify(one.certFile)}`,
      `key_file = ${JSON.stringify(keyFile)}`,
      '[[proxy.upstreams]]',
      'match = "(unclosed"',
      'upstream = "http://127.0.0.1:9090"',
      `tls = { ca_file = ${JSON.stringify(files.notPem)} }`,
      '',
    ].join('\n');
  const path = await configFile('every-problem.toml', toml('short-secret', other.keyFile));
  const run = await scopegate(['check-config', '--config', path]);
  await pki.remove();
  assert.equal(run.code, 1, run.stderr);
  const problems = run.stderr
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
  const has = (pattern: RegExp) =>
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `${pattern} in:\n${problems.join('\n')}`,
    );
  has(/^log_level: /);
  has(/^proxy\.upstreams\[0\]\.match: invalid regular expression/);
  has(/^file\.path: .*two-bad-tokens\.json: token #2: token contains whitespace/);
  has(/^file\.path: .*two-bad-tokens\.json: token #3: scopes\.0: /);
  has(/^auth\.basic\.users_file: .*no-such-users\.yaml: cannot read \(ENOENT/);
  has(/^auth\.hmac_jwt\.secret: the secret is 12 bytes; HS256 needs at least 32/);
  has(/^proxy\.tls\.key_file: .*: does not match the certificate/);
  has(/^proxy\.upstreams\[0\]\.tls\.ca_file: .*not-a-cert\.pem: holds no PEM CA certificate/);
  assert.equal(problems.length, 8, problems.join('\n'));
  assert.ok(!run.stderr.includes('short-secret') && !run.stderr.includes('tok bad'), 'no secret or token is printed');
});

test('the config is --config, else SCOPEGATE_CONFIG, else /etc/scopegate/config.toml (the image starts with no arguments)', async () => {
  const path = await configFile('from-env.toml', LGTM_AUTH_PROXY_TOML);
  const flag = await scopegate(['check-config', '--config', path], { SCOPEGATE_CONFIG: join(dir, 'nope.toml') });
  assert.equal(flag.stdout, `config ok: ${path}\n`, flag.stderr);
  const fromEnv = await scopegate(['check-config'], { SCOPEGATE_CONFIG: path });
  assert.equal(fromEnv.stdout, `config ok: ${path}\n`, fromEnv.stderr);
  // Whether or not this machine has /etc/scopegate/config.toml, that is the file check-config reads.
  const byDefault = await scopegate(['check-config'], { SCOPEGATE_CONFIG: '' });
  assert.match(byDefault.stdout + byDefault.stderr, /\/etc\/scopegate\/config\.toml/);
  assert.notEqual(byDefault.code, 2, 'not a usage error');
});

test('--version prints the package version; --help prints usage', async () => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
  const [version, help] = await Promise.all([scopegate(['--version']), scopegate(['--help'])]);
  assert.deepEqual(version, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /scopegate serve --config FILE/);
  assert.match(help.stdout, /scopegate check-config --config FILE/);
  assert.match(help.stdout, /exit 0 when printed,\s+1 when the gateway would refuse it[^]*2 on a usage error/, "explain's exit codes");
});
