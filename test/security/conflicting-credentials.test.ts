import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { createAuthFiles, type AuthFiles } from '../servers/auth-files.js';
import { type GatewayFixture, gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';

// Issue #10 hole 3: `Authorization: Basic` for one user plus `X-Forwarded-Access-Token` holding another
// identity's token was served as the token's identity. Every credential a request carries must be accepted
// and all must name the same identity, whatever their kinds; else 401 conflicting_credentials, and nothing
// reaches the upstream. Two gateways, the chain in both orders, so the answer never depends on which
// provider the order reaches first.
const HMAC_ISSUER = 'https://issuer.test';
const HMAC_SECRET = 'hmac-secret-of-at-least-32-bytes-for-hs256';

/** A gateway whose chain asks the providers in this order, with its own upstream and auth files. */
function chain(order: string[]) {
  let files: AuthFiles;
  return gatewayFixture({
    before: async (cleanup) => {
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
      cleanup.after(() => files.remove());
    },
    config: (upstream) => ({
      log_level: 'warn',
      backend_type: 'file',
      file: { path: files.tokensPath },
      auth: {
        order,
        basic: { users_file: files.usersPath, watch: false },
        hmac_jwt: { secret: HMAC_SECRET, issuer: HMAC_ISSUER },
      },
      proxy: { upstreams: [{ name: 'raw', match: '.*', upstream, allow_unenforced_policy: true }] },
    }),
  });
}
const chains = [chain(['basic', 'static', 'hmac_jwt']), chain(['static', 'hmac_jwt', 'basic'])];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function jwt(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ iss: HMAC_ISSUER, exp: Math.floor(Date.now() / 1000) + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(HMAC_SECRET));
}

function send(fixture: GatewayFixture, headers: Record<string, string>): Promise<RawResponse> {
  return sendRaw(fixture.gateway.url, { path: '/api/v1/labels', headers });
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
  for (const fixture of chains) {
    for (const [name, headers] of cases) {
      const res = await send(fixture, headers);
      assert.equal(res.status, 401, `${name}: ${res.body.toString()}`);
      assert.equal(res.json().code, 'conflicting_credentials', name);
    }
  }
  for (const fixture of chains) assert.equal(fixture.upstream.requests.length, 0);
});

test('a bad credential next to a good one is refused, whichever the order reaches first', async () => {
  for (const fixture of chains) {
    const wrongPassword = await send(fixture, { authorization: basic('alice', 'wrong'), 'x-forwarded-access-token': 'tok-alice' });
    assert.equal(wrongPassword.status, 401);
    assert.equal(wrongPassword.json().code, 'invalid_credentials');
    const unknownToken = await send(fixture, {
      authorization: basic('alice', 'alice-password'),
      'x-forwarded-access-token': 'tok-unknown',
    });
    assert.equal(unknownToken.status, 401);
    assert.equal(unknownToken.json().code, 'invalid_token');
  }
  for (const fixture of chains) assert.equal(fixture.upstream.requests.length, 0);
});

test('the same identity twice, by one token in two headers or by credentials of two kinds, is served', async () => {
  const aliceJwt = await jwt({ sub: 'alice', tenant_id: 'tenant-a', namespaces: ['team-a'] });
  const cases: [string, Record<string, string>][] = [
    ['one token, two headers', { authorization: 'Bearer tok-alice', 'x-forwarded-access-token': 'tok-alice' }],
    [
      'Basic + static token of the same identity',
      { authorization: basic('alice', 'alice-password'), 'x-forwarded-access-token': 'tok-alice' },
    ],
    ['Basic + JWT of the same identity', { authorization: basic('alice', 'alice-password'), token: aliceJwt }],
  ];
  for (const fixture of chains) {
    for (const [name, headers] of cases) {
      fixture.upstream.reset();
      const res = await send(fixture, headers);
      assert.equal(res.status, 200, `${name}: ${res.body.toString()}`);
      assert.equal(fixture.upstream.requests[0]?.headers['x-scope-orgid'], 'tenant-a', name);
    }
  }
});
