import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';
import { findFreePort } from '../servers/free-port.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #2, operations: SIGHUP or a changed file reloads (a bad config is rejected, the old one keeps
// serving); SIGTERM stops accepting, finishes in-flight requests and exits 0.

interface Fixture {
  a: RecordingUpstream;
  b: RecordingUpstream;
  tokens: TempTokenFile;
  gateway: StartedGateway;
}

/** The config object a test gateway runs, as `reload` takes it (the launcher adds the same defaults). */
function gatewayConfig(tokensPath: string, upstreamUrl: string) {
  return parseConfig({
    log_level: 'info',
    admin: { listen: '127.0.0.1:0' },
    backend_type: 'file',
    file: { path: tokensPath },
    proxy: { listen: '127.0.0.1:0', shutdown_timeout: '5s', upstreams: [{ name: 'main', match: '.*', upstream: upstreamUrl }] },
  });
}

async function startFixture(t: { after(fn: () => Promise<void>): void }, options: { stopGateway?: boolean } = {}): Promise<Fixture> {
  const a = await startRecordingUpstream();
  const b = await startRecordingUpstream();
  const tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'main', match: '.*', upstream: a.url }] },
  });
  t.after(async () => {
    if (options.stopGateway ?? true) await gateway.stop();
    await a.stop();
    await b.stop();
    await tokens.remove();
  });
  return { a, b, tokens, gateway };
}

const query = (gateway: StartedGateway) => fetch(`${gateway.url}/api/v1/query?query=up`, { headers: { authorization: 'Bearer tok-a' } });

test('hot reload under traffic: no request fails, and requests after the swap go to the new upstream', async (t) => {
  const { a, b, tokens, gateway } = await startFixture(t);
  const statuses: number[] = [];
  let reloaded = false;
  let afterReload = 0;
  // Each worker keeps sending until it has sent 10 requests after the swap (bounded: at most 400 each).
  const worker = async () => {
    let mineAfterReload = 0;
    for (let i = 0; i < 400 && mineAfterReload < 10; i++) {
      const wasReloaded = reloaded;
      const res = await query(gateway);
      await res.arrayBuffer();
      statuses.push(res.status);
      if (wasReloaded) {
        mineAfterReload += 1;
        afterReload += 1;
      }
    }
  };
  const traffic = Promise.all([worker(), worker(), worker(), worker()]);
  while (a.requests.length < 20) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await gateway.server.reload(gatewayConfig(tokens.path, b.url)), true);
  reloaded = true;
  const probe = await fetch(`${gateway.url}/api/v1/query?query=probe`, { headers: { authorization: 'Bearer tok-a' } });
  assert.equal(probe.status, 200);
  assert.ok(
    b.requests.some((r) => r.url.includes('probe')),
    'a request sent after reload() resolved went to the new upstream',
  );
  assert.ok(!a.requests.some((r) => r.url.includes('probe')));
  await traffic;

  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every request during the reload succeeded',
  );
  assert.equal(afterReload, 40, 'traffic continued after the swap');
  assert.equal(a.requests.length + b.requests.length, statuses.length + 1);
  assert.ok(b.requests.length >= afterReload + 1, 'requests sent after the swap all went to the new upstream');
});

test('a broken config file is rejected with every bad key, and the running one keeps serving', async (t) => {
  const { a, tokens, gateway } = await startFixture(t);
  const path = join(tokens.dir, 'broken.toml');
  await writeFile(path, '[proxy]\nlisten = ":8000"\n[[proxy.upstreams]]\nmatch = "(unclosed"\nupstream = "ftp://x"\n');
  await assert.rejects(loadConfigFile(path), (error: ConfigError) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((p) => p.split(':')[0]),
      ['proxy.upstreams[0].match', 'proxy.upstreams[0].upstream'],
    );
    return true;
  });
  assert.equal((await query(gateway)).status, 200);
  assert.equal(a.requests.length, 1);
});

test('a reload whose token set cannot load is refused: the working token set is never swapped for none', async (t) => {
  const { a, b, tokens, gateway } = await startFixture(t);
  const next = gatewayConfig(join(tokens.dir, 'missing-tokens.json'), b.url);
  assert.equal(await gateway.server.reload(next), false);
  assert.equal((await query(gateway)).status, 200);
  assert.equal(a.requests.length, 1);
  assert.equal((await fetch(`${gateway.adminUrl}/ready`)).status, 200);
});

test('graceful shutdown: the in-flight request completes, new connections are refused, shutdown resolves', async (t) => {
  const { a, gateway } = await startFixture(t, { stopGateway: false });
  let release: (() => void) | undefined;
  const arrived = new Promise<void>((resolve) => {
    a.setHandler((_request, res: ServerResponse) => {
      release = () => res.end('{"status":"success"}');
      resolve();
    });
  });
  const inFlight = fetch(`${gateway.url}/api/v1/query?query=slow`, { headers: { authorization: 'Bearer tok-a' } });
  await arrived;
  const shutdown = gateway.server.shutdown();

  await assert.rejects(
    new Promise((resolve, reject) => httpRequest(`${gateway.url}/api/v1/query`, { agent: false }, resolve).on('error', reject).end()),
    { code: 'ECONNREFUSED' },
  );
  release!();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '{"status":"success"}');
  await shutdown;
});

// The real CLI, as an operator runs it: README-style TOML (LGTM Auth Proxy keys), SIGHUP, SIGTERM.
test('scopegate serve: SIGHUP reloads an edited file, a broken edit is rejected, SIGTERM drains and exits 0', {
  timeout: 60_000,
}, async (t) => {
  const a = await startRecordingUpstream();
  const b = await startRecordingUpstream();
  const tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  const [proxyPort, adminPort] = [await findFreePort(), await findFreePort()];
  const configPath = join(tokens.dir, 'scopegate.toml');
  const toml = (upstream: string) => `backend_type = "file"
log_level = "info"
[file]
path = "${tokens.path}"
refresh_interval = "1m"
stale_threshold = "15m"
[proxy]
listen = "127.0.0.1:${proxyPort}"
[[proxy.upstreams]]
match = ".*"
upstream = "${upstream}"
priority = 0
timeout = "30s"
max_idle_conns = 100
idle_conn_timeout = "90s"
[admin]
listen = "127.0.0.1:${adminPort}"
`;
  await writeFile(configPath, toml(a.url));
  const child = spawn(process.execPath, ['bin/scopegate.js', 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await a.stop();
    await b.stop();
    await tokens.remove();
  });
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const until = async (check: () => Promise<boolean> | boolean) => {
    while (!(await check())) {
      if (child.exitCode !== null) assert.fail(`scopegate exited early:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const get = () =>
    fetch(`${proxyUrl}/api/v1/query`, { headers: { authorization: 'Bearer tok-a' } }).then(
      (r) => r.status,
      () => 0,
    );

  await until(
    async () =>
      (await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
  );
  assert.equal(await get(), 200);
  assert.equal(a.requests.length, 1);

  await writeFile(configPath, toml(b.url));
  child.kill('SIGHUP');
  await until(async () => (await get()) === 200 && b.requests.length > 0);
  assert.match(output, /"reason":"SIGHUP"/);

  await writeFile(configPath, toml(b.url).replace('match = ".*"', 'match = "(unclosed"'));
  child.kill('SIGHUP');
  await until(() => output.includes('new configuration rejected'));
  assert.match(output, /proxy\.upstreams\[0\]\.match: invalid regular expression/);
  const bBefore = b.requests.length;
  assert.equal(await get(), 200, 'the previous configuration keeps serving');
  assert.equal(b.requests.length, bBefore + 1);

  let release: (() => void) | undefined;
  const arrived = new Promise<void>((resolve) => {
    b.setHandler((_request, res) => {
      release = () => res.end('{"status":"success"}');
      resolve();
    });
  });
  const inFlight = fetch(`${proxyUrl}/api/v1/query?query=slow`, { headers: { authorization: 'Bearer tok-a' } });
  await arrived;
  child.kill('SIGTERM');
  await until(() => output.includes('shutting down'));
  release!();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '{"status":"success"}');
  assert.equal(await exited, 0);
});
