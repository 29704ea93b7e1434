import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { secretsConfigSchema } from '../../src/config/sections/secrets.js';
import { createTokenSource, type TokenSource } from '../../src/identity/static-token.js';
import { Unauthorized } from '../../src/core/http-errors.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../servers/secrets-manager.js';

const AWS_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/scopegate-test-aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/scopegate-test-aws-credentials',
};
const saved = new Map<string, string | undefined>();
let sm: FakeSecretsManager;

before(async () => {
  for (const key of [...Object.keys(AWS_ENV), 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) {
    saved.set(key, process.env[key]);
    delete process.env[key];
  }
  Object.assign(process.env, AWS_ENV);
  sm = await startFakeSecretsManager();
});

after(async () => {
  for (const [key, value] of saved) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await sm.stop();
});

async function setup(secretId: string, sectionExtra: Record<string, unknown> = { endpoint: sm.url }) {
  const clock = {
    ms: 1_700_000_000_000,
    now() {
      return this.ms;
    },
  };
  const registry = new Registry();
  const config = secretsConfigSchema.parse({
    backend_type: 'secretsmanager',
    secretsmanager: { secret_id: secretId, refresh_interval: '1m', stale_threshold: '15m', max_attempts: 1, ...sectionExtra },
  });
  const tokens = (await createTokenSource(config, { clock, registry, logger: pino({ level: 'silent' }) })) as TokenSource;
  return { clock, registry, tokens, auth: tokens.authenticator, refresher: tokens.refresher };
}

const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });

test('loads the token set through the real SDK, SigV4-signed, and authenticates with it', async (t) => {
  sm.setSecret('prod/tokens', JSON.stringify({ 'tok-a': { tenant: 'tenant-a', namespace: 'team-a', name: 'grafana' } }));
  const { tokens, auth } = await setup('prod/tokens');
  t.after(() => tokens.refresher.close());
  await tokens.refresher.start();
  assert.equal(tokens.refresher.readiness.notReadyReason(), undefined);
  assert.match(String(sm.lastHeaders?.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/secretsmanager\//);
  const identity = await auth.authenticate(bearer('tok-a'));
  assert.equal(identity?.subject, 'grafana');
  assert.deepEqual(identity?.tenants, ['tenant-a']);
});

test('rotation: after a refresh the new token works and the old one is refused', async (t) => {
  sm.setSecret('rotating', JSON.stringify({ 'old-token': 'tenant-a' }));
  const { tokens, auth, refresher } = await setup('rotating');
  t.after(() => refresher.close());
  await refresher.start();
  assert.ok(await auth.authenticate(bearer('old-token')));
  sm.setSecret('rotating', JSON.stringify({ 'new-token': 'tenant-a' }));
  assert.equal(await refresher.refreshNow(), true);
  assert.deepEqual((await auth.authenticate(bearer('new-token')))?.tenants, ['tenant-a']);
  assert.throws(() => auth.authenticate(bearer('old-token')), Unauthorized);
  assert.equal(tokens.refresher.current()?.size, 1);
});

test('outage: the last good set is kept, failures are counted, staleness shows on /ready, recovery clears it', async (t) => {
  sm.setSecret('outage', JSON.stringify({ 'tok-o': 'tenant-o' }));
  const { clock, registry, auth, refresher } = await setup('outage');
  t.after(() => {
    sm.fail(undefined);
    refresher.close();
  });
  await refresher.start();
  for (const failure of ['internal-error', 'throttling', 'not-found'] as const) {
    sm.fail(failure);
    assert.equal(await refresher.refreshNow(), false, failure);
  }
  sm.fail(undefined);
  sm.setSecret('outage', '{"tok-o": ');
  assert.equal(await refresher.refreshNow(), false, 'invalid JSON');
  assert.ok(await auth.authenticate(bearer('tok-o')));
  const metrics = await registry.metrics();
  assert.match(metrics, /scopegate_secret_refresh_total\{source="secretsmanager",result="failure"\} 4/);
  assert.match(metrics, /scopegate_secret_refresh_total\{source="secretsmanager",result="success"\} 1/);

  assert.equal(refresher.readiness.notReadyReason(), undefined);
  clock.ms += 16 * 60_000;
  assert.equal(
    refresher.readiness.notReadyReason(),
    'token set from secretsmanager is stale: last successful refresh 960s ago (threshold 900s)',
  );
  assert.match(await registry.metrics(), /scopegate_secret_age_seconds\{source="secretsmanager"\} 960/);
  sm.setSecret('outage', JSON.stringify({ 'tok-o': 'tenant-o' }));
  assert.equal(await refresher.refreshNow(), true);
  assert.equal(refresher.readiness.notReadyReason(), undefined);
});

test('a missing secret leaves the gateway not ready with the AWS error as the reason', async (t) => {
  const { refresher, auth } = await setup('does-not-exist');
  t.after(() => refresher.close());
  await refresher.start();
  assert.match(refresher.readiness.notReadyReason() ?? '', /never loaded .*ResourceNotFoundException/);
  assert.throws(() => auth.authenticate(bearer('anything')), { code: 'token_set_unavailable' });
});

test('the SDK honours AWS_ENDPOINT_URL_SECRETS_MANAGER without an endpoint key', async (t) => {
  sm.setSecret('via-env', JSON.stringify({ 'tok-e': 'tenant-e' }));
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.url;
  const { refresher, auth } = await setup('via-env', {});
  t.after(() => {
    delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    refresher.close();
  });
  const callsBefore = sm.calls;
  await refresher.start();
  assert.equal(sm.calls, callsBefore + 1);
  assert.deepEqual((await auth.authenticate(bearer('tok-e')))?.tenants, ['tenant-e']);
});
