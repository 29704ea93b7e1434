import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { createAuthFiles, type AuthFiles } from '../servers/auth-files.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';

// Issue #10 hole 3: `Authorization: Basic` for one user plus `X-Forwarded-Access-Token` holding another
// identity's token was served as the token's identity. Every credential a request carries must be accepted
// and all must name the same identity, whatever their kinds; else 401 conflicting_credentials, and nothing
// reaches the upstream. Two gateways, the chain in both orders, so the answer never depends on which
// provider the order reaches first.
const HMAC_ISSUER = 'https://issuer.test';
const HMAC_SECRET = 'hmac-secret-of-at-least-32-bytes-for-hs256';

let upstream: RecordingUpstream;
let files: AuthFiles;
let basicFirst: StartedGateway;
let tokensFirst: StartedGateway;

before(async () => {
  upstream = await startRecordingUpstream();
  files = await createAuthFiles({
    tokens: {
      'tok-alice': { name: 'alice', tenant: 'tenant-a', namespaces: ['team-a'] },
      'tok-bob': { name: 'bob', tenant: 'tenant-b', namespaces: ['team-b'] },
    },
    users: [
      { username: 'alice', password: 'alice-password', tenant: 'tenant-a', namespaces: ['team-a'] },
      { username: 'mallory', password: 'mallory-password', tenant: 'tenant-m', namespaces: ['team-m'] },
    ],
  });
  const config = (order: string[]) => ({
    log_level: 'warn',
    backend_type: 'file',
    file: { path: files.tokensPath },
    auth: {
      order,
      basic: { users_file: files.usersPath, watch: false },
      hmac_jwt: { secret: HMAC_SECRET, issuer: HMAC_ISSUER },
    },
    proxy: { upstreams: [{ name: 'raw', match: '.*', upstream: upstream.url, allow_unenforced_policy: true }] },
  });
  [basicFirst, tokensFirst] = await Promise.all([
    startTestGateway(config(['basic', 'static', 'hmac_jwt'])),
    startTestGateway(config(['static', 'hmac_jwt', 'basic'])),
  ]);
});

after(async () => {
  await Promise.all([basicFirst?.stop(), tokensFirst?.stop()]);
  await Promise.all([upstream?.stop(), files?.remove()]);
});

beforeEach(() => upstream.reset());

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function jwt(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ iss: HMAC_ISSUER, exp: Math.floor(Date.now() / 1000) + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(HMAC_SECRET));
}

function send(gateway: StartedGateway, headers: Record<string, string>): Promise<RawResponse> {
  return sendRaw(gateway.url, { path: '/api/v1/labels', headers });
}

test('credentials of different kinds naming different identities are 401 conflicting_credentials, in either chain order', async () => {
  const bobJwt = await jwt({ sub: 'bob', tenant_id: 'tenant-b', namespaces: ['team-b'] });
  const cases: [string, Record<string, string>][] = [
    ['Basic + X-Forwarded-Access-Token', { authorization: basic('mallory', 'mallory-password'), 'x-forwarded-access-token': 'tok-bob' }],
    ['Basic + X-Auth-Request-Access-Token', { authorization: basic('alice', 'alice-password'), 'x-auth-request-access-token': 'tok-bob' }],
    ['Basic + JWT in Token', { authorization: basic('alice', 'alice-password'), token: bobJwt }],
    ['bearer + another token header', { authorization: 'Bearer tok-alice', 'x-forwarded-access-token': 'tok-bob' }],
    ['static + JWT', { authorization: 'Bearer tok-alice', token: bobJwt }],
    ['JWT + static', { authorization: `Bearer ${bobJwt}`, 'x-forwarded-access-token': 'tok-alice' }],
  ];
  for (const gateway of [basicFirst, tokensFirst]) {
    for (const [name, headers] of cases) {
      const res = await send(gateway, headers);
      assert.equal(res.status, 401, `${name}: ${res.body.toString()}`);
      assert.equal(res.json().code, 'conflicting_credentials', name);
    }
  }
  assert.equal(upstream.requests.length, 0);
});

test('a bad credential next to a good one is refused, whichever the order reaches first', async () => {
  for (const gateway of [basicFirst, tokensFirst]) {
    const wrongPassword = await send(gateway, { authorization: basic('alice', 'wrong'), 'x-forwarded-access-token': 'tok-alice' });
    assert.equal(wrongPassword.status, 401);
    assert.equal(wrongPassword.json().code, 'invalid_credentials');
    const unknownToken = await send(gateway, { authorization: basic('alice', 'alice-password'), 'x-forwarded-access-token': 'tok-unknown' });
    assert.equal(unknownToken.status, 401);
    assert.equal(unknownToken.json().code, 'invalid_token');
  }
  assert.equal(upstream.requests.length, 0);
});

test('the same identity twice, by one token in two headers or by credentials of two kinds, is served', async () => {
  const aliceJwt = await jwt({ sub: 'alice', tenant_id: 'tenant-a', namespaces: ['team-a'] });
  const cases: [string, Record<string, string>][] = [
    ['one token, two headers', { authorization: 'Bearer tok-alice', 'x-forwarded-access-token': 'tok-alice' }],
    ['Basic + static token of the same identity', { authorization: basic('alice', 'alice-password'), 'x-forwarded-access-token': 'tok-alice' }],
    ['Basic + JWT of the same identity', { authorization: basic('alice', 'alice-password'), token: aliceJwt }],
  ];
  for (const gateway of [basicFirst, tokensFirst]) {
    for (const [name, headers] of cases) {
      upstream.reset();
      const res = await send(gateway, headers);
      assert.equal(res.status, 200, `${name}: ${res.body.toString()}`);
      assert.equal(upstream.requests[0]?.headers['x-scope-orgid'], 'tenant-a', name);
    }
  }
});
