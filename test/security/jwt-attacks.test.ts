import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, base64url, exportSPKI, importJWK } from 'jose';
import type { CryptoKey } from 'jose';
import { pino } from 'pino';
import { JwksKeySource } from '../../src/identity/jwks-source.js';
import { createJwksAuthenticator } from '../../src/identity/jwks.js';
import { Unauthorized } from '../../src/core/http-errors.js';
import { createTestKey, startJwksServer } from '../servers/jwks-server.js';
import type { TestKey } from '../servers/jwks-server.js';

// Attacks on JWT verification, against a real JWKS endpoint on a socket (RFC 8725 lists most of them).
const NOW_S = 1_700_000_000;
const ISSUER = 'https://idp.example';
const CLAIMS = { tenantClaim: 'tenant_id', namespacesClaim: 'namespaces', labelsClaim: 'labels', policyLabel: 'namespace' };
const GOOD = { iss: ISSUER, aud: 'scopegate', tenant_id: 'team-a', exp: NOW_S + 3600 };

function manualClock() {
  let nowMs = NOW_S * 1000;
  return {
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

async function sign(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

function unsigned(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ''): string {
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

async function withGateway(
  run: (ctx: {
    key: TestKey;
    clock: ReturnType<typeof manualClock>;
    requests: () => number;
    verify: (token: string) => Promise<unknown>;
  }) => Promise<void>,
): Promise<void> {
  const key = await createTestKey('good');
  const server = await startJwksServer([key]);
  const clock = manualClock();
  const source = new JwksKeySource({
    name: 'attacks',
    url: server.url,
    refreshIntervalMs: 300_000,
    minRefetchIntervalMs: 30_000,
    staleAfterMs: 600_000,
    fetchTimeoutMs: 5_000,
    clock,
    logger: pino({ level: 'silent' }),
  });
  await source.start();
  const auth = createJwksAuthenticator({ source, issuer: ISSUER, audience: ['scopegate'], claims: CLAIMS, clock });
  try {
    await run({
      key,
      clock,
      requests: () => server.requestCount,
      verify: async (token) => auth.authenticate({ bearer: { header: 'authorization', token } }),
    });
  } finally {
    await auth.close?.();
    await server.close();
  }
}

async function assertRefused(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Unauthorized, `expected Unauthorized, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

test('the honest token is accepted (so the refusals below are about the attack)', async () => {
  await withGateway(async ({ key, verify }) => {
    assert.ok(await verify(await sign(key, GOOD)));
  });
});

test('alg none is refused', async () => {
  await withGateway(async ({ verify }) => {
    await assertRefused(verify(unsigned({ alg: 'none', kid: 'good' }, GOOD)), 'algorithm_not_allowed');
  });
});

test('HS256 signed with the RSA public key (key confusion) is refused', async () => {
  await withGateway(async ({ key, verify }) => {
    const publicPem = await exportSPKI((await importJWK(key.publicJwk, 'RS256')) as CryptoKey);
    const forged = await new SignJWT(GOOD).setProtectedHeader({ alg: 'HS256', kid: 'good' }).sign(new TextEncoder().encode(publicPem));
    await assertRefused(verify(forged), 'algorithm_not_allowed');
  });
});

test('expired, not yet valid and issued-in-the-future tokens are refused', async () => {
  await withGateway(async ({ key, verify }) => {
    await assertRefused(verify(await sign(key, { ...GOOD, exp: NOW_S - 60 })), 'token_expired');
    await assertRefused(verify(await sign(key, { ...GOOD, nbf: NOW_S + 60 })), 'token_not_yet_valid');
    await assertRefused(verify(await sign(key, { ...GOOD, iat: NOW_S + 60 })), 'token_not_yet_valid');
  });
});

test("wrong audience is refused; a wrong issuer is not this provider's token", async () => {
  await withGateway(async ({ key, verify }) => {
    await assertRefused(verify(await sign(key, { ...GOOD, aud: 'other-service' })), 'wrong_audience');
    assert.equal(await verify(await sign(key, { ...GOOD, iss: 'https://evil.example' })), undefined);
  });
});

test('a tampered payload (tenant swapped) fails the signature', async () => {
  await withGateway(async ({ key, verify }) => {
    const [header, , signature] = (await sign(key, GOOD)).split('.');
    const swapped = base64url.encode(JSON.stringify({ ...GOOD, tenant_id: 'team-b' }));
    await assertRefused(verify(`${header}.${swapped}.${signature}`), 'bad_signature');
  });
});

test('a key embedded in the token (jwk header) or pointed to (jku) is never used', async () => {
  await withGateway(async ({ verify }) => {
    const attacker = await createTestKey('attacker');
    const attackerServer = await startJwksServer([attacker]);
    try {
      const embedded = await sign(attacker, GOOD, { jwk: attacker.publicJwk, jku: attackerServer.url, x5u: attackerServer.url });
      await assertRefused(verify(embedded), 'unknown_key');
      assert.equal(attackerServer.requestCount, 0);
    } finally {
      await attackerServer.close();
    }
  });
});

test('a flood of unknown kids fetches the JWKS at most once per rate-limit window', async () => {
  await withGateway(async ({ key, clock, requests, verify }) => {
    clock.advance(30_000);
    const before = requests();
    const flood = Array.from({ length: 50 }, (_, i) => sign({ ...key, kid: `bogus-${i}` }, GOOD));
    const results = await Promise.allSettled((await Promise.all(flood)).map((t) => verify(t)));
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(requests() - before, 1);
    clock.advance(10_000);
    await assertRefused(verify(await sign({ ...key, kid: 'bogus-late' }, GOOD)), 'unknown_key');
    assert.equal(requests() - before, 1);
    clock.advance(20_000);
    await assertRefused(verify(await sign({ ...key, kid: 'bogus-next-window' }, GOOD)), 'unknown_key');
    assert.equal(requests() - before, 2);
  });
});
