import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { signSchema } from '../../src/config/sections/sign.js';
import { createCredentialProvider } from '../../src/upstream/aws-credentials/create-provider.js';
import { createCredentialRefresher } from '../../src/upstream/aws-credentials/refresher.js';
import type { Scheduler } from '../../src/upstream/aws-credentials/scheduler.js';
import { startFakeSts } from '../servers/sts.js';
import { startFakeTokenEndpoint } from '../servers/oidc-token-endpoint.js';

const START_MS = Date.parse('2024-05-01T12:00:00Z');
const ROLE = 'arn:aws:iam::111122223333:role/amp';
const manualScheduler: Scheduler = { schedule: () => ({ cancel() {} }) };

/** A refresher over the configured credentials, on a fake clock, timers driven by hand. */
async function refresherFor(credentials: unknown, clock: { now(): number }) {
  const sign = signSchema.parse({ service: 'aps', region: 'us-east-1', credentials, breaker: { failure_threshold: 1 } });
  const provider = await createCredentialProvider(sign.credentials, sign.region, { clock });
  return createCredentialRefresher(
    {
      upstream: 'amp',
      provider,
      refreshBeforeMs: sign.refresh_before,
      retryAfterFailureMs: 10_000,
      fetchTimeoutMs: 5_000,
      breaker: { failureThreshold: 1, openTimeoutMs: 60_000 },
    },
    { clock, logger: pino({ level: 'silent' }), scheduler: manualScheduler },
  );
}

async function tokenFile(t: { after(fn: () => Promise<void>): void }, token: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-wi-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  await writeFile(path, `${token}\n`);
  return path;
}

test('web_identity: the token file goes to STS AssumeRoleWithWebIdentity and is re-read on each refresh', async (t) => {
  const clock = { nowMs: START_MS, now: () => clock.nowMs };
  const sts = await startFakeSts(new Date(START_MS + 3_600_000));
  t.after(() => sts.close());
  const file = await tokenFile(t, 'jwt-one');
  const refresher = await refresherFor({ type: 'web_identity', role_arn: ROLE, token_file: file, sts_endpoint: sts.url.href }, clock);
  t.after(() => refresher.close());
  assert.equal(await refresher.start(), 'success');
  assert.deepEqual(sts.calls[0], { action: 'AssumeRoleWithWebIdentity', roleArn: ROLE, token: 'jwt-one', sessionName: 'scopegate' });
  assert.deepEqual(refresher.current(), {
    accessKeyId: 'ASIASTS1',
    secretAccessKey: 'sts-secret-1',
    sessionToken: 'sts-session-1',
    expiresAtMs: START_MS + 3_600_000,
  });

  await writeFile(file, 'jwt-two');
  clock.nowMs += 48 * 60_000;
  sts.expiresAt = new Date(clock.nowMs + 3_600_000);
  assert.equal(await refresher.refreshNow(), 'success');
  assert.equal(sts.calls[1]?.token, 'jwt-two', 'the rotated projected token was used');
  assert.equal(refresher.current()?.accessKeyId, 'ASIASTS2');
});

test('web_identity: without sts_endpoint the SDK setting AWS_ENDPOINT_URL_STS is honoured', async (t) => {
  const clock = { now: () => START_MS };
  const sts = await startFakeSts(new Date(START_MS + 3_600_000));
  t.after(() => sts.close());
  const saved = process.env.AWS_ENDPOINT_URL_STS;
  process.env.AWS_ENDPOINT_URL_STS = sts.url.href;
  t.after(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    else process.env.AWS_ENDPOINT_URL_STS = saved;
  });
  const refresher = await refresherFor({ type: 'web_identity', role_arn: ROLE, token_file: await tokenFile(t, 'jwt') }, clock);
  t.after(() => refresher.close());
  assert.equal(await refresher.start(), 'success');
  assert.equal(sts.calls.length, 1);
});

test('web_identity: an STS refusal is a failed refresh with a stable code, no credentials served', async (t) => {
  const clock = { now: () => START_MS };
  const sts = await startFakeSts(new Date(START_MS + 3_600_000));
  t.after(() => sts.close());
  sts.mode = 'denied';
  const refresher = await refresherFor(
    { type: 'web_identity', role_arn: ROLE, token_file: await tokenFile(t, 'jwt'), sts_endpoint: sts.url.href },
    clock,
  );
  t.after(() => refresher.close());
  assert.equal(await refresher.start(), 'failure');
  assert.equal(refresher.current(), undefined);
  assert.match(refresher.readiness.notReadyReason() ?? '', /sts_assume_role_failed/);
  assert.equal(sts.calls.length, 1, 'the SDK did not retry on its own: the breaker counts every call');
});

test('oidc: a client-credentials token (the ID token) is exchanged at STS for credentials', async (t) => {
  const clock = { now: () => START_MS };
  const sts = await startFakeSts(new Date(START_MS + 3_600_000));
  const idp = await startFakeTokenEndpoint({ clientId: 'scopegate', clientSecret: 's3cr3t', idToken: 'oidc-id-token' });
  t.after(() => Promise.all([sts.close(), idp.close()]).then(() => undefined));
  const refresher = await refresherFor(
    {
      type: 'oidc',
      token_url: idp.url.href,
      client_id: 'scopegate',
      client_secret: 's3cr3t',
      audience: 'sts.amazonaws.com',
      role_arn: ROLE,
      sts_endpoint: sts.url.href,
    },
    clock,
  );
  t.after(() => refresher.close());
  assert.equal(await refresher.start(), 'success');
  assert.deepEqual(
    idp.grants.map((g) => [g.grantType, g.audience]),
    [['client_credentials', 'sts.amazonaws.com']],
  );
  assert.equal(sts.calls[0]?.token, 'oidc-id-token');
  assert.equal(refresher.current()?.accessKeyId, 'ASIASTS1');
});
