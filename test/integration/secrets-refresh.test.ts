import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../servers/secrets-manager.js';

// Issue #2, proof: the Secrets Manager backend through the gateway, against a local server speaking the
// Secrets Manager protocol with the real SDK: load, rotate, outage (last good kept), staleness → /ready 503
// → recovery. The app exposes no refresh trigger, so the refresh runs on a 1 s interval and the test polls;
// staleness is driven by the injected clock, never by waiting.
const AWS_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/scopegate-test-aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/scopegate-test-aws-credentials',
};
const saved = new Map<string, string | undefined>();
const clock = {
  ms: 1_700_000_000_000,
  now() {
    return this.ms;
  },
};
let sm: FakeSecretsManager;

const fixture = gatewayFixture({
  before: async (cleanup) => {
    sm = await startFakeSecretsManager();
    cleanup.after(() => sm.stop());
    for (const key of [
      ...Object.keys(AWS_ENV),
      'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_SECRETS_MANAGER',
      'AWS_PROFILE',
      'AWS_SESSION_TOKEN',
    ]) {
      saved.set(key, process.env[key]);
      delete process.env[key];
    }
    cleanup.after(async () => {
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    // The TOML has no endpoint key: the SDK's own endpoint override points it here.
    Object.assign(process.env, AWS_ENV, { AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url });
    sm.setSecret('testing', JSON.stringify({ 'old-token': 'tenant-a' }));
  },
  config: (upstream) => ({
    backend_type: 'secretsmanager',
    secretsmanager: { secret_id: 'testing', refresh_interval: '1s', stale_threshold: '15m', max_attempts: 1 },
    proxy: { upstreams: [{ match: '.*', upstream }] },
  }),
  clock,
});

const query = (token: string) => fetch(`${fixture.gateway.url}/api/v1/query?query=up`, { headers: { authorization: `Bearer ${token}` } });
const ready = () => fetch(`${fixture.gateway.adminUrl}/ready`);
const metrics = async () => (await fetch(`${fixture.gateway.adminUrl}/metrics`)).text();

/** Polls until `check` holds; the refresh runs on its own 1 s interval (the test timeout bounds the wait). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

function refreshCount(text: string, result: 'success' | 'failure'): number {
  const match = new RegExp(`scopegate_secret_refresh_total\\{source="secretsmanager",result="${result}"\\} (\\d+)`).exec(text);
  return Number(match?.[1] ?? 0);
}

test('the token from the secret is accepted and its tenant sent upstream; the gateway is ready', async () => {
  const res = await query('old-token');
  assert.equal(res.status, 200);
  assert.equal(fixture.upstream.requests.at(-1)?.headers['x-scope-orgid'], 'tenant-a');
  assert.equal((await ready()).status, 200);
});

test('after a rotation the new token works and the old one is refused', async () => {
  sm.setSecret('testing', JSON.stringify({ 'new-token': 'tenant-b' }));
  await waitFor(async () => (await query('new-token')).status === 200);
  assert.equal(fixture.upstream.requests.at(-1)?.headers['x-scope-orgid'], 'tenant-b');
  const old = await query('old-token');
  assert.equal(old.status, 401);
  assert.equal(((await old.json()) as { code: string }).code, 'invalid_token');
});

test('an outage keeps the last good set, counts failures, turns /ready 503 once stale, and recovers', async (t) => {
  t.after(() => sm.fail(undefined));
  const failuresBefore = refreshCount(await metrics(), 'failure');
  sm.fail('internal-error');
  await waitFor(async () => refreshCount(await metrics(), 'failure') > failuresBefore);
  assert.equal((await query('new-token')).status, 200, 'the last good token set is kept');
  assert.equal((await ready()).status, 200, 'not stale yet');

  clock.ms += 16 * 60_000;
  const stale = await ready();
  assert.equal(stale.status, 503);
  const body = (await stale.json()) as { status: string; reasons: Record<string, string> };
  assert.equal(body.status, 'not_ready');
  assert.match(
    body.reasons['secrets:secretsmanager'] ?? '',
    /^token set from secretsmanager is stale: last successful refresh \d+s ago \(threshold 900s\)$/,
  );
  assert.equal((await query('new-token')).status, 200, 'stale tokens still serve: /ready tells the load balancer');
  assert.match(await metrics(), /scopegate_secret_age_seconds\{source="secretsmanager"\} (9[6-9]\d|\d{4,})/);

  sm.fail(undefined);
  await waitFor(async () => (await ready()).status === 200);
  assert.equal((await query('new-token')).status, 200);
});
