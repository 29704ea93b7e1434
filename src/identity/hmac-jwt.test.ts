import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, base64url } from 'jose';
import { Unauthorized } from '../core/http-errors.js';
import { createHmacJwtAuthenticator } from './hmac-jwt.js';
import type { HmacJwtOptions } from './hmac-jwt.js';

const SECRET = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!');
const NOW_S = 1_700_000_000;
const CLAIMS = { tenantClaim: 'tenant_id', namespacesClaim: 'namespaces', labelsClaim: 'labels', policyLabel: 'namespace' };

function clockAt(seconds: number): { now(): number; set(s: number): void } {
  let nowMs = seconds * 1000;
  return {
    now: () => nowMs,
    set: (s) => {
      nowMs = s * 1000;
    },
  };
}

function makeAuth(overrides: Partial<HmacJwtOptions> = {}, clock = clockAt(NOW_S)) {
  return createHmacJwtAuthenticator({ secret: SECRET, claims: CLAIMS, clock, ...overrides });
}

async function sign(claims: Record<string, unknown>, options: { alg?: string; secret?: Uint8Array } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' }).sign(options.secret ?? SECRET);
}

const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });

async function rejects(promise: unknown, code: string): Promise<void> {
  await assert.rejects(Promise.resolve(promise), (error: unknown) => {
    assert.ok(error instanceof Unauthorized, String(error));
    assert.equal(error.code, code);
    return true;
  });
}

test('a valid token becomes an identity with its tenants, policy and expiry', async () => {
  const token = await sign({ sub: 'svc', tenant_id: ['team-a', 'team-b'], namespaces: ['ns1', 'dev-.*'], exp: NOW_S + 60 });
  const identity = await makeAuth().authenticate(bearer(token));
  assert.ok(identity);
  assert.equal(identity.subject, 'svc');
  assert.deepEqual(identity.tenants, ['team-a', 'team-b']);
  assert.equal(identity.expiresAt, NOW_S + 60);
  assert.deepEqual(identity.policy, {
    fullAccess: false,
    selectors: [[{ label: 'namespace', literals: ['ns1'], regexes: ['dev-.*'] }]],
  });
});

test('credentials that are not a JWT, or no bearer, are not mine', async () => {
  const auth = makeAuth();
  assert.equal(await auth.authenticate({}), undefined);
  assert.equal(await auth.authenticate(bearer('static-token-value')), undefined);
  assert.equal(await auth.authenticate(bearer('a.b')), undefined);
});

test('an RS256 token is left to the JWKS provider; a token of a foreign issuer too', async () => {
  const header = base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'k' }));
  const body = base64url.encode(JSON.stringify({ tenant_id: 't', exp: NOW_S + 60 }));
  assert.equal(await makeAuth().authenticate(bearer(`${header}.${body}.c2ln`)), undefined);
  const foreign = await sign({ iss: 'https://idp', tenant_id: 't', exp: NOW_S + 60 });
  assert.equal(await makeAuth({ foreignIssuers: new Set(['https://idp']) }).authenticate(bearer(foreign)), undefined);
  assert.equal(await makeAuth({ issuer: 'https://mine' }).authenticate(bearer(foreign)), undefined);
});

test('alg none is refused, never accepted or passed on', async () => {
  const header = base64url.encode(JSON.stringify({ alg: 'none' }));
  const body = base64url.encode(JSON.stringify({ tenant_id: 't', exp: NOW_S + 60 }));
  await rejects(makeAuth().authenticate(bearer(`${header}.${body}.`)), 'algorithm_not_allowed');
});

test('an HS512 token is refused when only HS256 is allowed', async () => {
  const secret = new Uint8Array(64).fill(7);
  const token = await sign({ tenant_id: 't', exp: NOW_S + 60 }, { alg: 'HS512', secret });
  await rejects(makeAuth({ secret }).authenticate(bearer(token)), 'algorithm_not_allowed');
});

test('time claims are checked against the injected clock with the skew', async () => {
  const auth = makeAuth({ clockSkewMs: 30_000 });
  await rejects(auth.authenticate(bearer(await sign({ tenant_id: 't', exp: NOW_S - 31 }))), 'token_expired');
  assert.ok(await auth.authenticate(bearer(await sign({ tenant_id: 't', exp: NOW_S - 29 }))));
  await rejects(auth.authenticate(bearer(await sign({ tenant_id: 't', exp: NOW_S + 600, nbf: NOW_S + 31 }))), 'token_not_yet_valid');
  await rejects(auth.authenticate(bearer(await sign({ tenant_id: 't', exp: NOW_S + 600, iat: NOW_S + 31 }))), 'token_not_yet_valid');
  await rejects(auth.authenticate(bearer(await sign({ tenant_id: 't' }))), 'malformed_token');
});

test('a wrong secret or a tampered payload is a bad signature', async () => {
  const other = new TextEncoder().encode('another-secret-of-at-least-32-bytes!!');
  await rejects(makeAuth().authenticate(bearer(await sign({ tenant_id: 't', exp: NOW_S + 60 }, { secret: other }))), 'bad_signature');
  const [h, , s] = (await sign({ tenant_id: 'team-a', exp: NOW_S + 60 })).split('.');
  const forged = base64url.encode(JSON.stringify({ tenant_id: 'team-b', exp: NOW_S + 60 }));
  await rejects(makeAuth().authenticate(bearer(`${h}.${forged}.${s}`)), 'bad_signature');
});

test('issuer and audience are enforced when configured', async () => {
  const auth = makeAuth({ issuer: 'me', audience: ['gw'] });
  await rejects(auth.authenticate(bearer(await sign({ iss: 'me', aud: 'other', tenant_id: 't', exp: NOW_S + 60 }))), 'wrong_audience');
  assert.ok(await auth.authenticate(bearer(await sign({ iss: 'me', aud: ['x', 'gw'], tenant_id: 't', exp: NOW_S + 60 }))));
});

test('tenant: missing claim is refused unless a default tenant is configured; a bad tenant is refused', async () => {
  const token = await sign({ exp: NOW_S + 60 });
  await rejects(makeAuth().authenticate(bearer(token)), 'missing_tenant_claim');
  const identity = await makeAuth({ claims: { ...CLAIMS, defaultTenant: 'fallback' } }).authenticate(bearer(token));
  assert.deepEqual(identity?.tenants, ['fallback']);
  await rejects(makeAuth().authenticate(bearer(await sign({ tenant_id: 'a|b', exp: NOW_S + 60 }))), 'invalid_claims');
  await rejects(makeAuth().authenticate(bearer(await sign({ tenant_id: 't', namespaces: ['.*?'], exp: NOW_S + 60 }))), 'invalid_claims');
});

test('a cached identity is never served after the token expires', async () => {
  const clock = clockAt(NOW_S);
  const auth = makeAuth({ clockSkewMs: 0 }, clock);
  const token = await sign({ tenant_id: 't', exp: NOW_S + 10 });
  assert.ok(await auth.authenticate(bearer(token)));
  assert.ok(await auth.authenticate(bearer(token)));
  clock.set(NOW_S + 10);
  await rejects(auth.authenticate(bearer(token)), 'token_expired');
});

test('a secret shorter than the hash output is refused at start (RFC 7518 §3.2)', () => {
  assert.throws(() => makeAuth({ secret: new TextEncoder().encode('short') }), /HS256 needs at least 32/);
});
