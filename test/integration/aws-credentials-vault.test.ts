import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { signSchema } from '../../src/config/sections/sign.js';
import { createAwsCredentialMetrics } from '../../src/upstream/aws-credentials/metrics.js';
import type { Scheduler } from '../../src/upstream/aws-credentials/scheduler.js';
import { createSigner, type Signer } from '../../src/upstream/sigv4.js';
import { startSigv4Verifier, type Sigv4Verifier } from '../servers/sigv4-verifier.js';
import { startFakeVault, type FakeVault } from '../servers/vault.js';

const VAULT_KEYS = Array.from({ length: 20 }, (_, i) => ({
  accessKeyId: `ASIAVAULT${i + 1}`,
  secretAccessKey: `vault-secret-${i + 1}`,
  sessionToken: `vault-session-${i + 1}`,
}));
/** Timers are driven by hand: the test calls refreshNow after moving the clock. */
const manualScheduler: Scheduler = { schedule: () => ({ cancel() {} }) };

interface Setup {
  clock: { nowMs: number; now(): number };
  vault: FakeVault;
  verifier: Sigv4Verifier;
  signer: Signer;
  registry: Registry;
}

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<Setup> {
  const clock = { nowMs: Date.parse('2024-05-01T12:00:00Z'), now: () => clock.nowMs };
  const vault = await startFakeVault({ token: 'vault-token', mount: 'aws', role: 'amp-writer', leaseSeconds: 3600 });
  const verifier = await startSigv4Verifier({ keys: VAULT_KEYS, service: 'aps', region: 'eu-west-1' });
  const registry = new Registry();
  const sign = signSchema.parse({
    service: 'aps',
    region: 'eu-west-1',
    credentials: { type: 'vault', address: vault.url.href, role: 'amp-writer', token: 'vault-token', ttl: '1h' },
    breaker: { failure_threshold: 2, open_timeout: '1m' },
  });
  const signer = await createSigner(
    { upstream: 'amp', sign },
    { clock, logger: pino({ level: 'silent' }), scheduler: manualScheduler, metrics: createAwsCredentialMetrics(registry, clock.now) },
  );
  t.after(async () => {
    await signer.close();
    await Promise.all([vault.close(), verifier.close()]);
  });
  await signer.refresher.refreshNow();
  return { clock, vault, verifier, signer, registry };
}

/** Signs a query with the signer and sends it to the verifier; returns the access key the verifier saw. */
async function sendSigned(s: Setup): Promise<{ status: number; accessKeyId: string | undefined }> {
  const out = await s.signer.sign({ method: 'GET', url: new URL('/api/v1/query?query=up', s.verifier.url), headers: {}, body: undefined });
  const response = await request(out.url, { headers: out.headers });
  await response.body.dump();
  return { status: response.statusCode, accessKeyId: s.verifier.received.at(-1)?.accessKeyId };
}

test('vault: credentials come from /v1/aws/creds/<role> with the token and the requested ttl', async (t) => {
  const s = await setup(t);
  assert.deepEqual(s.vault.calls, [{ path: '/v1/aws/creds/amp-writer', token: 'vault-token', ttl: '3600s' }]);
  assert.deepEqual(await sendSigned(s), { status: 200, accessKeyId: 'ASIAVAULT1' });
});

test('rotation: after a refresh the new credentials sign, and the verifier accepts them', async (t) => {
  const s = await setup(t);
  s.clock.nowMs += 48 * 60_000;
  assert.equal(await s.signer.refresher.refreshNow(), 'success');
  assert.deepEqual(await sendSigned(s), { status: 200, accessKeyId: 'ASIAVAULT2' });
});

test('outage keeps the old credentials; past expiry with Vault still down, signing stops and /ready fails', async (t) => {
  const s = await setup(t);
  s.vault.mode = 'down';
  s.clock.nowMs += 50 * 60_000;
  assert.equal(await s.signer.refresher.refreshNow(), 'failure');
  assert.deepEqual(await sendSigned(s), { status: 200, accessKeyId: 'ASIAVAULT1' });
  assert.equal(s.signer.readiness.notReadyReason(), undefined);
  s.clock.nowMs += 10 * 60_000;
  assert.match(s.signer.readiness.notReadyReason() ?? '', /AWS credentials expired \(last refresh: vault_http_503\)/);
  await assert.rejects(sendSigned(s), { code: 'aws_credentials_unavailable', status: 503 });
});

test('breaker: opens after 2 failures, Vault sees no call until open_timeout, a half-open success closes it', async (t) => {
  const s = await setup(t);
  s.vault.mode = 'down';
  await s.signer.refresher.refreshNow();
  await s.signer.refresher.refreshNow();
  assert.equal(s.signer.refresher.breakerState(), 'open');
  const callsWhenOpened = s.vault.calls.length;
  s.clock.nowMs += 59_999;
  assert.equal(await s.signer.refresher.refreshNow(), 'breaker_open');
  assert.equal(s.vault.calls.length, callsWhenOpened, 'no call reached Vault while the breaker was open');
  s.vault.mode = 'ok';
  s.clock.nowMs += 1;
  assert.equal(await s.signer.refresher.refreshNow(), 'success');
  assert.equal(s.vault.calls.length, callsWhenOpened + 1);
  assert.equal(s.signer.refresher.breakerState(), 'closed');
  const metrics = await s.registry.metrics();
  assert.match(metrics, /scopegate_aws_credential_refreshes_total\{upstream="amp",result="breaker_open"\} 1/);
  assert.match(metrics, /scopegate_aws_credential_breaker_state\{upstream="amp"\} 0/);
  assert.deepEqual(await sendSigned(s), { status: 200, accessKeyId: `ASIAVAULT${callsWhenOpened + 1}` });
});
