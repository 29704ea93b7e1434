import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import snappy from 'snappyjs';
import { request } from 'undici';
import { signSchema } from '../../src/config/sections/sign.js';
import { ServiceUnavailable } from '../../src/core/http-errors.js';
import { createSigner, type SignableRequest, type SignedRequest } from '../../src/upstream/sigv4.js';
import { startSigv4Verifier, type Sigv4Verifier } from '../servers/sigv4-verifier.js';

const KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-1' };
const clock = { now: () => Date.parse('2024-05-01T12:00:00Z') };

async function signerFor(overrides: Record<string, unknown> = {}) {
  const sign = signSchema.parse({
    service: 'aps',
    region: 'us-east-1',
    credentials: {
      type: 'static',
      access_key_id: KEY.accessKeyId,
      secret_access_key: KEY.secretAccessKey,
      session_token: KEY.sessionToken,
    },
    ...overrides,
  });
  return createSigner({ upstream: 'amp', sign }, { clock, logger: pino({ level: 'silent' }) });
}

async function withVerifier(t: { after(fn: () => Promise<void>): void }): Promise<Sigv4Verifier> {
  const verifier = await startSigv4Verifier({ keys: [KEY], service: 'aps', region: 'us-east-1' });
  t.after(() => verifier.close());
  return verifier;
}

async function signed(req: SignableRequest, overrides: Record<string, unknown> = {}): Promise<SignedRequest> {
  const signer = await signerFor(overrides);
  await signer.refresher.refreshNow();
  try {
    return await signer.sign(req);
  } finally {
    await signer.close();
  }
}

async function send(out: SignedRequest, method: string, body?: Buffer): Promise<number> {
  const response = await request(out.url, { method, headers: out.headers, ...(body === undefined ? {} : { body }) });
  await response.body.dump();
  return response.statusCode;
}

test('GET with a PromQL query (braces, quotes, spaces, plus) passes an independent SigV4 check', async (t) => {
  const verifier = await withVerifier(t);
  const url = new URL('/workspaces/ws-1/api/v1/query?query=sum+by+(job)+(up{namespace="a"})&time=1714564800.5', verifier.url);
  const out = await signed({ method: 'GET', url, headers: { accept: 'application/json', 'x-scope-orgid': 'team-a' }, body: undefined });
  assert.equal(await send(out, 'GET'), 200);
  const got = verifier.received[0];
  assert.equal(got?.rejection, undefined);
  const sent = new URL(got?.rawUrl ?? '', verifier.url);
  assert.equal(sent.searchParams.get('query'), 'sum by (job) (up{namespace="a"})', 'the query means what the caller asked');
  assert.ok(!sent.search.includes('+'), 'spaces go as %20, the form SigV4 canonicalises');
  assert.equal(got?.headers['x-amz-security-token'], KEY.sessionToken);
  assert.match(
    got?.headers.authorization ?? '',
    /SignedHeaders=accept;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-scope-orgid,/,
  );
});

test('a path that needs escaping is double-encoded as SigV4 requires for non-S3 services', async (t) => {
  const verifier = await withVerifier(t);
  const url = new URL('/api/v1/label/a%20b:c/values?match[]=up&match[]=process_start_time_seconds', verifier.url);
  const out = await signed({ method: 'GET', url, headers: {}, body: undefined });
  assert.equal(await send(out, 'GET'), 200);
  assert.equal(verifier.received[0]?.rejection, undefined);
});

test('POST form body (urlencoded PromQL) is hashed and verified', async (t) => {
  const verifier = await withVerifier(t);
  const body = Buffer.from(new URLSearchParams({ query: 'up{namespace="a"}', start: '1', end: '2', step: '15' }).toString());
  const url = new URL('/api/v1/query_range', verifier.url);
  const out = await signed({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  assert.equal(await send(out, 'POST', body), 200);
  assert.equal(verifier.received[0]?.rejection, undefined);
  assert.deepEqual(verifier.received[0]?.body, body);
});

test('binary remote-write body (snappy) is hashed and verified byte for byte', async (t) => {
  const verifier = await withVerifier(t);
  const body = Buffer.from(snappy.compress(Buffer.from([0x0a, 0x1f, 0x0a, 0x0b, 0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0d, 0x0a])));
  const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
  const out = await signed({ method: 'POST', url: new URL('/api/v1/remote_write', verifier.url), headers, body });
  assert.equal(await send(out, 'POST', body), 200);
  assert.equal(verifier.received[0]?.rejection, undefined);
});

test('tampering after signing is rejected: body, query, a signed header', async (t) => {
  const verifier = await withVerifier(t);
  const body = Buffer.from('query=up%7Bnamespace%3D%22a%22%7D');
  const url = new URL('/api/v1/query?time=1', verifier.url);
  const out = await signed({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-scope-orgid': 'team-a' },
    body,
  });
  assert.equal(await send(out, 'POST', Buffer.from('query=up%7Bnamespace%3D%22b%22%7D')), 403);
  const otherQuery = new URL(out.url.href);
  otherQuery.searchParams.set('time', '2');
  assert.equal(await send({ url: otherQuery, headers: out.headers }, 'POST', body), 403);
  assert.equal(await send({ url: out.url, headers: { ...out.headers, 'x-scope-orgid': 'team-b' } }, 'POST', body), 403);
  assert.deepEqual(
    verifier.received.map((r) => r.rejection),
    ['payload hash does not match the body', 'signature mismatch', 'signature mismatch'],
  );
  assert.equal(await send(out, 'POST', body), 200, 'the untouched request still passes');
});

test('hop-by-hop and proxy-appended headers are not signed, and a client-sent x-amz token is replaced', async (t) => {
  const verifier = await withVerifier(t);
  const headers = { 'x-forwarded-for': '10.0.0.1', 'x-amz-security-token': 'from-the-client', authorization: 'Bearer client' };
  const out = await signed({ method: 'GET', url: new URL('/api/v1/labels', verifier.url), headers, body: undefined });
  assert.equal(out.headers['x-amz-security-token'], KEY.sessionToken);
  const appended = { ...out.headers, 'x-forwarded-for': '10.0.0.1, 192.168.1.1' };
  assert.equal(await send({ url: out.url, headers: appended }, 'GET'), 200, 'a proxy appending X-Forwarded-For does not break it');
  assert.doesNotMatch(verifier.received[0]?.headers.authorization ?? '', /x-forwarded-for/);
});

test('streamed bodies: UNSIGNED-PAYLOAD only with unsigned_payload = true; otherwise the caller must buffer', async (t) => {
  const verifier = await withVerifier(t);
  const body = Buffer.from('streamed bytes');
  const out = await signed(
    { method: 'POST', url: new URL('/loki/api/v1/push', verifier.url), headers: {}, body: 'streamed' },
    { unsigned_payload: true },
  );
  assert.equal(out.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.equal(await send(out, 'POST', body), 200);
  const strict = await signerFor();
  t.after(() => strict.close());
  assert.equal(strict.requiresBufferedBody, true);
  await strict.refresher.refreshNow();
  await assert.rejects(
    strict.sign({ method: 'POST', url: new URL('/x', verifier.url), headers: {}, body: 'streamed' }),
    /unsigned_payload/,
  );
});

test('no credentials yet: sign refuses with 503 aws_credentials_unavailable and /ready says why', async (t) => {
  const sign = signSchema.parse({ service: 'aps', region: 'us-east-1' });
  const failing = { kind: 'test', fetchCredentials: () => Promise.reject(new Error('down')) };
  const signer = await createSigner({ upstream: 'amp', sign }, { clock, logger: pino({ level: 'silent' }), provider: failing });
  t.after(() => signer.close());
  await signer.refresher.refreshNow();
  await assert.rejects(
    signer.sign({ method: 'GET', url: new URL('http://127.0.0.1/'), headers: {}, body: undefined }),
    (error: unknown) => {
      assert.ok(error instanceof ServiceUnavailable);
      assert.equal(error.code, 'aws_credentials_unavailable');
      return true;
    },
  );
  assert.match(signer.readiness.notReadyReason() ?? '', /no AWS credentials loaded yet/);
});
