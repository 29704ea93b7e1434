import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort } from '../servers/free-port.js';
import { sendRaw } from '../servers/http-client.js';
import { startSigv4Verifier } from '../servers/sigv4-verifier.js';
import { startFakeSts } from '../servers/sts.js';
import { createTempTokenFile } from '../servers/temp-token-file.js';

// Issue #10, hole 6: with an upstream whose signing credentials come from STS (web identity), every reload
// was refused ("the new configuration is not ready"): the new configuration's readiness was judged before its
// first credentials could arrive, so a rotated static key never took effect. A reload now waits (bounded by
// each source's fetch_timeout) for the new configuration's first loads.

const OLD_KEY = { accessKeyId: 'AKIDOLDKEY', secretAccessKey: 'old/secret/key' };
const NEW_KEY = { accessKeyId: 'AKIDNEWKEY', secretAccessKey: 'new/secret/key' };
// The fake STS hands out ASIASTS<n>/sts-secret-<n>/sts-session-<n>, n counting its calls.
const STS_KEYS = Array.from({ length: 20 }, (_, i) => ({
  accessKeyId: `ASIASTS${i + 1}`,
  secretAccessKey: `sts-secret-${i + 1}`,
  sessionToken: `sts-session-${i + 1}`,
}));

test('SIGHUP with an STS-signed upstream: a rotated static key signs the next request', { timeout: 90_000 }, async (t) => {
  const staticUpstream = await startSigv4Verifier({ keys: [OLD_KEY, NEW_KEY], service: 'aps', region: 'eu-west-1' });
  const stsUpstream = await startSigv4Verifier({ keys: STS_KEYS, service: 'aps', region: 'eu-west-1' });
  const sts = await startFakeSts(new Date(Date.now() + 3_600_000));
  const tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  const webIdentityToken = join(tokens.dir, 'web-identity-token');
  await writeFile(webIdentityToken, 'projected-service-account-jwt\n');
  const [proxyPort, adminPort] = [await findFreePort(), await findFreePort()];
  const configPath = join(tokens.dir, 'scopegate.toml');
  const toml = (key: { accessKeyId: string; secretAccessKey: string }) => `backend_type = "file"
[file]
path = "${tokens.path}"
[proxy]
listen = "127.0.0.1:${proxyPort}"
[[proxy.upstreams]]
name = "static"
match = "static\\\\.example"
upstream = "${staticUpstream.url.origin}"
sign = { service = "aps", region = "eu-west-1", credentials = { type = "static", access_key_id = "${key.accessKeyId}", secret_access_key = "${key.secretAccessKey}" } }
[[proxy.upstreams]]
name = "sts"
match = "sts\\\\.example"
upstream = "${stsUpstream.url.origin}"
[proxy.upstreams.sign]
service = "aps"
region = "eu-west-1"
fetch_timeout = "5s"
credentials = { type = "web_identity", role_arn = "arn:aws:iam::111122223333:role/amp", token_file = "${webIdentityToken}", sts_endpoint = "${sts.url.origin}" }
[admin]
listen = "127.0.0.1:${adminPort}"
`;
  await writeFile(configPath, toml(OLD_KEY));
  const child = spawn(process.execPath, ['bin/scopegate.js', 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all([staticUpstream.close(), stsUpstream.close(), sts.close(), tokens.remove()]);
  });
  const until = async (check: () => Promise<boolean> | boolean) => {
    while (!(await check())) {
      if (child.exitCode !== null) assert.fail(`scopegate exited early:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const query = (host: string) =>
    sendRaw(`http://127.0.0.1:${proxyPort}`, { path: '/api/v1/query?query=up', headers: { host, authorization: 'Bearer tok-a' } });

  await until(
    async () =>
      (await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
  );
  assert.equal((await query('static.example')).status, 200);
  assert.equal((await query('sts.example')).status, 200);
  assert.equal(staticUpstream.received.at(-1)?.accessKeyId, OLD_KEY.accessKeyId);
  assert.match(stsUpstream.received.at(-1)?.accessKeyId ?? '', /^ASIASTS\d+$/);

  await writeFile(configPath, toml(NEW_KEY));
  child.kill('SIGHUP');
  await until(() => /configuration reloaded|reload failed|new configuration rejected/.test(output));
  assert.doesNotMatch(output, /reload failed|new configuration rejected/);

  const res = await query('static.example');
  assert.equal(res.status, 200, res.body.toString());
  const last = staticUpstream.received.at(-1);
  assert.equal(last?.accessKeyId, NEW_KEY.accessKeyId, 'the new key signed the request after the reload');
  assert.equal(last?.rejection, undefined);
  const viaSts = await query('sts.example');
  assert.equal(viaSts.status, 200, 'the STS-signed upstream still signs after the reload');
  assert.equal(stsUpstream.received.at(-1)?.rejection, undefined);
  assert.ok(sts.calls.length >= 2, 'the new configuration fetched its own STS credentials');
});
