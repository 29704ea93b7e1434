import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { authSchema } from '../config/sections/auth.js';
import { describePolicy } from '../policy/label-policy.js';
import { createAuthenticators } from './providers.js';

const NOW_S = 1_700_000_000;
const clock = { now: () => NOW_S * 1000 };
const logger = pino({ level: 'silent' });
const SECRET = 'a-shared-secret-that-is-long-enough!!';

async function withFiles(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-providers-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('providers are built in the configured order, the static one where the core asked', async () => {
  await withFiles(async (dir) => {
    await writeFile(join(dir, 'users.yaml'), 'users:\n  - {username: u, password: p, namespace: n}\n');
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [] }));
    const auth = authSchema.parse({
      order: ['basic', 'static', 'jwks', 'hmac_jwt', 'fixed_tenant'],
      basic: { users_file: join(dir, 'users.yaml'), watch: false },
      jwks: { file: join(dir, 'jwks.json') },
      hmac_jwt: { secret: SECRET },
      fixed_tenant: { tenant: 'anon', namespaces: ['public'] },
    });
    const staticAuthenticator = { name: 'static', authenticate: () => undefined };
    const built = await createAuthenticators({ auth }, { logger, clock, staticAuthenticator });
    try {
      assert.deepEqual(
        built.authenticators.map((a) => a.name),
        ['basic', 'static', 'jwks', 'hmac_jwt', 'fixed_tenant'],
      );
      assert.deepEqual(
        built.readiness.map((r) => r.name),
        ['jwks:jwks'],
      );
      const anon = await built.authenticators.at(-1)?.authenticate({});
      assert.equal(describePolicy(anon?.policy), 'namespace="public"');
    } finally {
      await built.close();
    }
  });
});

test('JWT providers coexist: HS tokens go to hmac_jwt, RS tokens to jwks, each saying not-mine to the other', async () => {
  await withFiles(async (dir) => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] }));
    const auth = authSchema.parse({ jwks: { file: join(dir, 'jwks.json') }, hmac_jwt: { secret: SECRET } });
    const built = await createAuthenticators({ auth }, { logger, clock });
    try {
      const [hmac, jwks] = built.authenticators;
      assert.equal(hmac?.name, 'hmac_jwt');
      const rs = await new SignJWT({ tenant_id: 'rs', exp: NOW_S + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey);
      const hs = await new SignJWT({ tenant_id: 'hs', exp: NOW_S + 60 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(SECRET));
      const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });
      assert.equal(await hmac?.authenticate(bearer(rs)), undefined);
      assert.equal(await jwks?.authenticate(bearer(hs)), undefined);
      assert.deepEqual((await hmac?.authenticate(bearer(hs)))?.tenants, ['hs']);
      assert.deepEqual((await jwks?.authenticate(bearer(rs)))?.tenants, ['rs']);
    } finally {
      await built.close();
    }
  });
});

test('config: durations are normalised, and unsafe orders are refused', () => {
  const parsed = authSchema.parse({ jwks: { url: 'https://idp.example/jwks', min_refetch_interval: '1m' } });
  assert.equal(parsed.jwks?.min_refetch_interval, 60_000);
  assert.equal(parsed.jwks?.clock_skew, 30_000);
  assert.throws(
    () => authSchema.parse({ order: ['fixed_tenant', 'basic'], fixed_tenant: { tenant: 't' }, basic: { users_file: 'x' } }),
    /must come last/,
  );
  assert.throws(() => authSchema.parse({ order: ['static'], basic: { users_file: 'x' } }), /configured but not in order/);
  assert.throws(() => authSchema.parse({ hmac_jwt: { secret: 'x', secret_file: 'y' } }), /exactly one of secret and secret_file/);
  assert.throws(() => authSchema.parse({ hmac_jwt: { secret: SECRET, algorithms: ['RS256'] } }));
  assert.throws(() => authSchema.parse({ jwks: { url: 'https://x', algorithms: ['HS256'] } }));
});

test('fixed_tenant accepts the selectors list form (ORed), and refuses it beside namespaces', async () => {
  const auth = authSchema.parse({
    order: ['fixed_tenant'],
    fixed_tenant: { tenant: 'anon', selectors: [{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }] },
  });
  const built = await createAuthenticators({ auth }, { logger, clock });
  try {
    const anon = await built.authenticators[0]?.authenticate({});
    assert.equal(describePolicy(anon?.policy), '{namespace="a",env="prod"} or {namespace="shared"}');
  } finally {
    await built.close();
  }
  const both = authSchema.parse({
    order: ['fixed_tenant'],
    fixed_tenant: { tenant: 'anon', namespaces: ['a'], selectors: [{ env: 'prod' }] },
  });
  await assert.rejects(() => createAuthenticators({ auth: both }, { logger, clock }), /either "selectors" or/);
});
