import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The migration examples (README "Migrating") must run: each config in examples/ passes the real
// `scopegate check-config`, which also reads every file a config names (users, ACL, tokens) with serve's
// parsers. Paths in a config are relative to the working directory, and the examples are written to be run
// from the repository root, so that is the cwd here.
// Supporting files (users, ACL, tokens) live in a folder per example; every top-level file is a config.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const CLI = join(ROOT, 'bin', 'scopegate.js');

/** The variables the examples reference without a default, as their deployment would set them. */
const EXAMPLE_ENV = {
  GATEWAY_JWT_SECRET: 'an-hs256-secret-of-at-least-32-bytes!',
  UPSTREAM_URL: 'http://prometheus:9090',
  OIDC_REALM_URL: 'https://keycloak.example.com/realms/monitoring',
  OIDC_CLIENT_ID: 'grafana',
};

const configs = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => e.name)
  .sort();

function checkConfig(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'check-config', '--config', join('examples', file)], { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

test('there is an example per migration', () => {
  for (const name of [
    'lgtm-auth-proxy',
    'prometheus-multi-tenant-proxy',
    'cortex-gateway',
    'lfgw',
    'prom-label-proxy',
    'aws-signing-proxy',
  ]) {
    assert.ok(
      configs.some((file) => file.startsWith(`${name}.`)),
      `examples/${name}.* is missing`,
    );
  }
});

for (const file of configs) {
  test(`examples/${file}: check-config exits 0 and the files it names load`, async () => {
    const env = { ...process.env, ...EXAMPLE_ENV };
    const result = await checkConfig(file, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /config ok/);
  });
}

test('an example run without its environment names the missing variable', async () => {
  const env = { ...process.env };
  for (const name of Object.keys(EXAMPLE_ENV)) delete env[name];
  const result = await checkConfig('lfgw.toml', env);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /UPSTREAM_URL is not set/);
});

// Each example ships the policy tests of its configuration (examples/<name>/policy-tests.yaml), run by
// `scopegate test` through the real pipeline: a change that alters what an example lets through fails here.
/** What an example's test run needs beyond its environment: the token set kept in AWS as a file, the container's tokens. */
const POLICY_TEST_EXTRAS: Readonly<Record<string, { args?: string[]; env?: NodeJS.ProcessEnv }>> = {
  'lgtm-auth-proxy': { args: ['--tokens', 'examples/lgtm-auth-proxy/tokens.json'] },
  container: { env: { SCOPEGATE_TOKENS: '{"team-a-token":{"name":"team-a","tenant":"team-a","namespaces":["team-a"]}}' } },
};

function stemOf(file: string): string {
  return file.replace(/\.(toml|yaml|yml|json)$/, '');
}

test('every example ships its policy tests', () => {
  for (const file of configs)
    assert.ok(existsSync(join(EXAMPLES, stemOf(file), 'policy-tests.yaml')), `examples/${stemOf(file)}/policy-tests.yaml is missing`);
});

for (const file of configs) {
  const stem = stemOf(file);
  const tests = join('examples', stem, 'policy-tests.yaml');
  if (!existsSync(join(ROOT, tests))) continue;
  test(`examples/${file}: scopegate test ${tests} passes`, async () => {
    const extras = POLICY_TEST_EXTRAS[stem] ?? {};
    const args = [CLI, 'test', '--config', join('examples', file), ...(extras.args ?? []), tests];
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...EXAMPLE_ENV, ...extras.env } }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      });
    });
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /^ok: \d+ passed, 0 failed/m);
  });
}
