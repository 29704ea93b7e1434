import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Registry } from 'prom-client';
import { CredentialSourceError, type AwsCredentials, type CredentialProvider } from './credentials.js';
import { createAwsCredentialMetrics } from './metrics.js';
import { computeRefreshAtMs, createCredentialRefresher } from './refresher.js';
import type { Scheduler } from './scheduler.js';

const MINUTE = 60_000;

/** A source the test scripts: each call takes the next answer (credentials or an error). */
function scriptedProvider(answers: Array<AwsCredentials | Error>): CredentialProvider & { calls: number } {
  const provider = {
    kind: 'scripted',
    calls: 0,
    async fetchCredentials() {
      const answer = answers[Math.min(provider.calls, answers.length - 1)];
      provider.calls += 1;
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error('no answer');
      return answer;
    },
  };
  return provider;
}

/** Records what would be scheduled; never runs it (the test calls refreshNow itself). */
function recordingScheduler(): Scheduler & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    schedule: (_run, delayMs) => {
      delays.push(delayMs);
      return { cancel() {} };
    },
  };
}

function setup(answers: Array<AwsCredentials | Error>) {
  const clock = { nowMs: 0, now: () => clock.nowMs };
  const registry = new Registry();
  const provider = scriptedProvider(answers);
  const scheduler = recordingScheduler();
  const refresher = createCredentialRefresher(
    {
      upstream: 'amp',
      provider,
      refreshBeforeMs: 5 * MINUTE,
      retryAfterFailureMs: 10_000,
      fetchTimeoutMs: 5_000,
      breaker: { failureThreshold: 2, openTimeoutMs: MINUTE },
    },
    { clock, logger: pino({ level: 'silent' }), metrics: createAwsCredentialMetrics(registry, clock.now), scheduler },
  );
  return { clock, registry, provider, scheduler, refresher };
}

const creds = (id: string, expiresAtMs?: number): AwsCredentials => ({ accessKeyId: id, secretAccessKey: 's', expiresAtMs });

test('refresh time: 5m or a fifth of the lifetime before expiry, whichever first, never before half-life', () => {
  assert.equal(computeRefreshAtMs(0, 60 * MINUTE, 5 * MINUTE), 48 * MINUTE);
  assert.equal(computeRefreshAtMs(0, 15 * MINUTE, 5 * MINUTE), 10 * MINUTE);
  assert.equal(computeRefreshAtMs(0, 4 * MINUTE, 5 * MINUTE), 2 * MINUTE);
});

test('rotation: the refreshed credentials replace the old ones and the next refresh is scheduled', async (t) => {
  const { clock, refresher, scheduler } = setup([creds('AKIA1', 60 * MINUTE), creds('AKIA2', 108 * MINUTE)]);
  t.after(() => refresher.close());
  assert.equal(refresher.readiness.notReadyReason(), 'no AWS credentials loaded yet');
  assert.equal(await refresher.start(), 'success');
  assert.equal(refresher.current()?.accessKeyId, 'AKIA1');
  assert.deepEqual(scheduler.delays, [48 * MINUTE]);
  clock.nowMs = 48 * MINUTE;
  assert.equal(await refresher.refreshNow(), 'success');
  assert.equal(refresher.current()?.accessKeyId, 'AKIA2');
  assert.equal(refresher.readiness.notReadyReason(), undefined);
});

test('outage: a failed refresh keeps serving the old credentials until they expire, then /ready fails', async (t) => {
  const down = new CredentialSourceError('sts_unavailable', 'STS answered 503');
  const { clock, refresher, registry } = setup([creds('AKIA1', 60 * MINUTE), down]);
  t.after(() => refresher.close());
  await refresher.start();
  clock.nowMs = 50 * MINUTE;
  assert.equal(await refresher.refreshNow(), 'failure');
  assert.equal(refresher.current()?.accessKeyId, 'AKIA1');
  assert.equal(refresher.readiness.notReadyReason(), undefined);
  const metricsText = await registry.metrics();
  assert.match(metricsText, /scopegate_aws_credential_refreshes_total\{upstream="amp",result="failure"\} 1/);
  assert.match(metricsText, /scopegate_aws_credential_expiry_seconds\{upstream="amp"\} 600/);
  clock.nowMs = 60 * MINUTE;
  assert.equal(refresher.current(), undefined);
  assert.equal(refresher.readiness.notReadyReason(), 'AWS credentials expired (last refresh: sts_unavailable)');
});

test('breaker: opens after N failures, skips the source until open_timeout, a half-open success closes it', async (t) => {
  const down = new Error('connection refused');
  const { clock, refresher, provider, scheduler, registry } = setup([down, down, creds('AKIA1', 60 * MINUTE)]);
  t.after(() => refresher.close());
  assert.equal(await refresher.start(), 'failure');
  assert.equal(await refresher.refreshNow(), 'failure');
  assert.equal(refresher.breakerState(), 'open');
  assert.equal(scheduler.delays.at(-1), MINUTE, 'next attempt when the breaker lets a trial through');
  clock.nowMs = MINUTE - 1;
  assert.equal(await refresher.refreshNow(), 'breaker_open');
  assert.equal(provider.calls, 2, 'the source was not called while open');
  assert.match(await registry.metrics(), /scopegate_aws_credential_breaker_state\{upstream="amp"\} 1/);
  clock.nowMs = MINUTE;
  assert.equal(await refresher.refreshNow(), 'success');
  assert.equal(provider.calls, 3);
  assert.equal(refresher.breakerState(), 'closed');
  assert.equal(refresher.current()?.accessKeyId, 'AKIA1');
});

test('credentials that are already expired on arrival are refused, not served', async (t) => {
  const { refresher } = setup([creds('AKIA1', -1)]);
  t.after(() => refresher.close());
  assert.equal(await refresher.start(), 'failure');
  assert.equal(refresher.current(), undefined);
  assert.match(refresher.readiness.notReadyReason() ?? '', /credentials_already_expired/);
});

test('concurrent refreshNow calls share one fetch', async (t) => {
  const { refresher, provider } = setup([creds('AKIA1', 60 * MINUTE)]);
  t.after(() => refresher.close());
  await Promise.all([refresher.refreshNow(), refresher.refreshNow(), refresher.refreshNow()]);
  assert.equal(provider.calls, 1);
});
