import { test } from 'node:test';
import assert from 'node:assert/strict';
import snappy from 'snappyjs';
import { startSignedGateway } from '../servers/signed-gateway.js';

const KEY = { accessKeyId: 'AKIDGATEWAY', secretAccessKey: 'gateway/secret/key+example' };

/** The gateway signs every request to a `sign` upstream after rewriting; an independent verifier checks it. */
const setup = (t: { after(fn: () => Promise<void>): void }, sign?: Record<string, unknown>) =>
  startSignedGateway(t, { key: KEY, tokens: { 'tok-a': 'team-a' }, ...(sign ? { sign } : {}) });

const auth = { authorization: 'Bearer tok-a' };

test('a GET with a PromQL query arrives signed, and the caller token is not forwarded', async (t) => {
  const { verifier, gateway } = await setup(t);
  const res = await fetch(`${gateway.url}/api/v1/query?query=${encodeURIComponent('sum by (job) (rate(x{a="b c"}[5m]))')}&time=1`, {
    headers: auth,
  });
  assert.equal(res.status, 200, await res.text());
  const [received] = verifier.received;
  assert.equal(received?.rejection, undefined);
  assert.equal(received?.accessKeyId, KEY.accessKeyId);
  assert.equal(received?.headers['x-scope-orgid'], 'team-a');
  assert.match(received?.headers.authorization ?? '', /^AWS4-HMAC-SHA256 /);
});

test('a POST form body and a snappy remote-write body are signed over their exact bytes', async (t) => {
  const { verifier, gateway } = await setup(t);
  const form = new URLSearchParams({ query: 'up{namespace="team-a"}', time: '1' }).toString();
  const r1 = await fetch(`${gateway.url}/api/v1/query`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  assert.equal(r1.status, 200, await r1.text());
  const payload = Buffer.from(snappy.compress(Buffer.from('\x0a\x05hello-remote-write-bytes')));
  const r2 = await fetch(`${gateway.url}/api/v1/write`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    body: payload,
  });
  assert.equal(r2.status, 200, await r2.text());
  assert.deepEqual(
    verifier.received.map((r) => r.rejection),
    [undefined, undefined],
  );
  assert.equal(verifier.received[0]?.body.toString(), form);
  assert.deepEqual(verifier.received[1]?.body, payload);
});

test('without valid credentials the gateway answers 503 and /ready says why', async (t) => {
  const { gateway, verifier } = await setup(t, {
    credentials: { type: 'vault', address: 'http://127.0.0.1:9', role: 'r', token: 'x' },
    fetch_timeout: '1s',
  });
  const res = await fetch(`${gateway.url}/api/v1/query?query=up`, { headers: auth });
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { code: string }).code, 'aws_credentials_unavailable');
  assert.equal(verifier.received.length, 0);
  const ready = await fetch(`${gateway.adminUrl}/ready`);
  assert.equal(ready.status, 503);
  assert.match(JSON.stringify(await ready.json()), /aws_credentials/);
});
