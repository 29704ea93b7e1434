import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_PATH } from '../../src/cli/main.js';
import { loadConfigFile } from '../../src/config/load.js';

// Issue #13: the Dockerfile and the systemd unit run scopegate with the same settings (unprivileged user, no
// malloc setting, config path, graceful stop), and agree with the config the image ships (examples/container.toml) and
// with the CLI's default config path. The image itself is built and run by scripts/image-test.sh.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The glibc heap setting is opt-in (SCOPEGATE_MALLOC_TUNING=on, docs/performance.md): neither sets it.
const MALLOC_SETTINGS = ['MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_'];

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
async function dockerfileInstructions(): Promise<{ keyword: string; args: string; stage: number }[]> {
  const text = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ');
  let stage = -1;
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.trim().split(/\s+/);
      if (keyword.toUpperCase() === 'FROM') stage += 1;
      return { keyword: keyword.toUpperCase(), args: rest.join(' '), stage };
    });
}

/** `Key=value` lines of the unit; Environment= entries split into their variables. */
async function unitSettings(): Promise<{ keys: Map<string, string[]>; environment: Map<string, string> }> {
  const text = await readFile(join(ROOT, 'deploy/systemd/scopegate.service'), 'utf8');
  const keys = new Map<string, string[]>();
  const environment = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match === null) continue;
    const [, key = '', value = ''] = match;
    keys.set(key, [...(keys.get(key) ?? []), value]);
    if (key === 'Environment') {
      for (const pair of value.split(/\s+/)) environment.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
  }
  return { keys, environment };
}

test('Dockerfile: node:24-slim build and runtime stages, the CA secret only in the build, non-root, tini, healthcheck, labels', async () => {
  const instructions = await dockerfileInstructions();
  const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args);
  assert.equal(froms.length, 2, 'a build stage and a runtime stage');
  const argDefault = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args;
  assert.equal(argDefault, 'NODE_IMAGE=docker.io/library/node:24-slim');
  assert.ok(
    froms.every((from) => from.startsWith('${NODE_IMAGE}')),
    froms.join(', '),
  );
  const runtime = instructions.filter((i) => i.stage === 1);
  const secretUses = instructions.filter((i) => i.args.includes('type=secret'));
  assert.ok(secretUses.length > 0 && secretUses.every((i) => i.stage === 0), 'the npm CA secret is used in the build stage only');
  assert.ok(runtime.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build') && i.args.includes('node_modules')));
  assert.equal(runtime.find((i) => i.keyword === 'USER')?.args, 'node');
  assert.match(
    runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '',
    /^\["\/usr\/bin\/tini", "--", "node", "\/app\/bin\/scopegate\.js"\]$/,
  );
  assert.equal(runtime.find((i) => i.keyword === 'CMD')?.args, '["serve"]', 'starts with no arguments: serve, default config path');
  assert.ok(runtime.some((i) => i.keyword === 'COPY' && i.args.endsWith(`examples/container.toml ${DEFAULT_CONFIG_PATH}`)));
  const labels = runtime
    .filter((i) => i.keyword === 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const label of ['title', 'description', 'licenses', 'version', 'revision'])
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${label}=`));
  assert.match(labels, /licenses="Apache-2\.0"/);
  const env = runtime
    .filter((i) => i.keyword === 'ENV')
    .map((i) => i.args)
    .join(' ');
  for (const name of MALLOC_SETTINGS) assert.doesNotMatch(env, new RegExp(`${name}=`));

  // The ports the image exposes and probes are the ones its config listens on.
  const config = await loadConfigFile(join(ROOT, 'examples/container.toml'), {});
  const exposed = runtime
    .find((i) => i.keyword === 'EXPOSE')
    ?.args.split(' ')
    .map(Number);
  assert.deepEqual(exposed, [config.proxy.listen.port, config.admin.listen.port]);
  const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
  assert.ok(healthcheck.includes(`http://127.0.0.1:${config.admin.listen.port}/healthz`), healthcheck);
  assert.ok(config.proxy.shutdown_timeout < 30_000, 'shutdown_timeout below the usual 30s kill grace period');
});

test('the systemd unit has the image settings: no malloc setting, config path, unprivileged user, graceful stop and reload', async () => {
  const { keys, environment } = await unitSettings();
  for (const name of MALLOC_SETTINGS) assert.equal(environment.get(name), undefined, name);
  assert.equal(environment.get('SCOPEGATE_CONFIG'), DEFAULT_CONFIG_PATH);
  assert.equal(environment.get('NODE_ENV'), 'production');
  assert.deepEqual(keys.get('DynamicUser'), ['yes']);
  assert.deepEqual(keys.get('NoNewPrivileges'), ['yes']);
  assert.deepEqual(keys.get('ProtectSystem'), ['strict']);
  assert.deepEqual(keys.get('KillSignal'), ['SIGTERM']);
  assert.deepEqual(keys.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.ok(Number(keys.get('TimeoutStopSec')?.[0]) > 30, 'the stop timeout outlasts the default shutdown_timeout (30s)');
  assert.equal(keys.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs writable executable memory");
});

test('systemd-analyze verify accepts the unit (no unknown key or bad value)', {
  skip: !existsSync('/usr/bin/systemd-analyze') && 'no systemd-analyze',
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The installed bin is not on this machine: point ExecStart at a binary that is, so only the unit is judged.
  const unit = (await readFile(join(ROOT, 'deploy/systemd/scopegate.service'), 'utf8')).replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true');
  const path = join(dir, 'scopegate.service');
  await writeFile(path, unit);
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile('systemd-analyze', ['verify', path], (error, _stdout, stderr) => resolve({ code: error === null ? 0 : 1, stderr }));
  });
  assert.deepEqual(result, { code: 0, stderr: '' });
});
