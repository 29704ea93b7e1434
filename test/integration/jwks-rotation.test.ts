import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createJwksMetrics } from '../../src/identity/jwks-metrics.js';
import { JwksKeySource } from '../../src/identity/jwks-source.js';
import { createJwksAuthenticator } from '../../src/identity/jwks.js';
import { HttpError } from '../../src/core/http-errors.js';
import { createTestKey, startJwksServer } from '../servers/jwks-server.js';
import type { TestKey } from '../servers/jwks-server.js';

const NOW_S = 1_700_000_000;
const CLAIMS = { tenantClaim: 'tenant_id', namespacesClaim: 'namespaces', labelsClaim: 'labels', policyLabel: 'namespace' };

function manualClock() {
  let nowMs = NOW_S * 1000;
  return {
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

async function signWith(key: TestKey, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ tenant_id: 'team-a', namespaces: ['ns1'], exp: NOW_S + 3600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
}

async function setup(keys: TestKey[]) {
  const server = await startJwksServer(keys);
  const clock = manualClock();
  const registry = new Registry();
  const source = new JwksKeySource({
    name: 'test',
    url: server.url,
    refreshIntervalMs: 300_000,
    minRefetchIntervalMs: 30_000,
    staleAfterMs: 600_000,
    fetchTimeoutMs: 5_000,
    clock,
    logger: pino({ level: 'silent' }),
    metrics: createJwksMetrics(registry, clock.now),
  });
  await source.start();
  const auth = createJwksAuthenticator({ source, claims: CLAIMS, clock });
  const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });
  return {
    server,
    clock,
    source,
    auth,
    bearer,
    registry,
    [Symbol.asyncDispose]: async () => {
      await auth.close?.();
      await server.close();
    },
  };
}

test('a token signed by a key published in the JWKS becomes an identity', async () => {
  const k1 = await createTestKey('k1');
  const s = await setup([k1]);
  try {
    const identity = await s.auth.authenticate(s.bearer(await signWith(k1)));
    assert.deepEqual(identity?.tenants, ['team-a']);
    assert.equal(s.source.readiness.notReadyReason(), undefined);
  } finally {
    await s[Symbol.asyncDispose]();
  }
});

test('rotation: a new kid is picked up by refetching on the unknown kid', async () => {
  const k1 = await createTestKey('k1');
  const k2 = await createTestKey('k2', 'ES256');
  const s = await setup([k1]);
  try {
    s.server.setKeys([k1, k2]);
    s.clock.advance(30_000); // the last fetch (at start) is older than the refetch rate limit
    const identity = await s.auth.authenticate(s.bearer(await signWith(k2, { tenant_id: 'team-b' })));
    assert.deepEqual(identity?.tenants, ['team-b']);
    assert.equal(s.server.requestCount, 2);
  } finally {
    await s[Symbol.asyncDispose]();
  }
});

test('rotation: a token verified before its key was retired is re-checked, not served from cache', async () => {
  const k1 = await createTestKey('k1');
  const k2 = await createTestKey('k2');
  const s = await setup([k1]);
  try {
    const old = await signWith(k1);
    assert.ok(await s.auth.authenticate(s.bearer(old)));
    s.server.setKeys([k2]);
    assert.equal(await s.source.refresh(), true);
    await assert.rejects(Promise.resolve(s.auth.authenticate(s.bearer(old))), { code: 'unknown_key' });
  } finally {
    await s[Symbol.asyncDispose]();
  }
});

test('outage: the last good keys keep working, and /ready reports them stale after staleAfter', async () => {
  const k1 = await createTestKey('k1');
  const s = await setup([k1]);
  try {
    s.server.setFailing(true);
    assert.equal(await s.source.refresh(), false);
    assert.ok(await s.auth.authenticate(s.bearer(await signWith(k1, { sub: 'during-outage' }))));
    assert.equal(s.source.readiness.notReadyReason(), undefined);
    s.clock.advance(600_001);
    assert.match(s.source.readiness.notReadyReason() ?? '', /stale/);
    // The same story on /metrics: one success at start, the failure, and keys 600 s old.
    const text = await s.registry.metrics();
    assert.match(text, /scopegate_signing_keys_refresh_total\{source="test",result="success"\} 1\n/);
    assert.match(text, /scopegate_signing_keys_refresh_total\{source="test",result="failure"\} 1\n/);
    assert.match(text, /scopegate_signing_keys_age_seconds\{source="test"\} 600\.001\n/);
    s.server.setFailing(false);
    assert.equal(await s.source.refresh(), true);
    assert.equal(s.source.readiness.notReadyReason(), undefined);
    assert.match(await s.registry.metrics(), /scopegate_signing_keys_age_seconds\{source="test"\} 0\n/);
  } finally {
    await s[Symbol.asyncDispose]();
  }
});

test('an IdP that was never reachable: not ready, and its tokens get 503 rather than a false 401', async () => {
  const k1 = await createTestKey('k1');
  const server = await startJwksServer([k1]);
  server.setFailing(true);
  const clock = manualClock();
  const source = new JwksKeySource({
    name: 'down',
    url: server.url,
    refreshIntervalMs: 300_000,
    minRefetchIntervalMs: 30_000,
    staleAfterMs: 600_000,
    fetchTimeoutMs: 5_000,
    clock,
    logger: pino({ level: 'silent' }),
  });
  try {
    await source.start();
    assert.equal(source.readiness.notReadyReason(), 'signing keys never loaded');
    const auth = createJwksAuthenticator({ source, claims: CLAIMS, clock });
    await assert.rejects(
      Promise.resolve(auth.authenticate({ bearer: { header: 'authorization', token: await signWith(k1) } })),
      (error: unknown) => error instanceof HttpError && error.status === 503 && error.code === 'jwks_unavailable',
    );
  } finally {
    source.close();
    await server.close();
  }
});
