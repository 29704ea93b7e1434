import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createTokenRefresher } from './refresher.js';
import { SecretSourceError, type SecretSource } from './source.js';
import { parseTokenSet } from '../identity/token-set.js';

/** An in-memory source whose next answer the test sets. */
function createFakeSource() {
  const state: { value: unknown; error: Error | undefined; loads: number } = { value: {}, error: undefined, loads: 0 };
  const source: SecretSource = {
    name: 'fake',
    load() {
      state.loads += 1;
      return state.error ? Promise.reject(state.error) : Promise.resolve(state.value);
    },
  };
  return { source, state };
}

function setup() {
  const fake = createFakeSource();
  const clock = {
    ms: 1_700_000_000_000,
    now() {
      return this.ms;
    },
  };
  const registry = new Registry();
  const refresher = createTokenRefresher({
    source: fake.source,
    parse: (raw) => parseTokenSet(raw, { authenticator: 'static-token' }),
    refreshIntervalMs: 60_000,
    staleThresholdMs: 900_000,
    clock,
    logger: pino({ level: 'silent' }),
    registry,
  });
  return { ...fake, clock, registry, refresher };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  const data = await metric?.get();
  const found = data?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value;
}

test('not ready before the first load, with the last error as the reason', async () => {
  const { state, refresher } = setup();
  state.error = new SecretSourceError('store unreachable');
  assert.match(refresher.readiness.notReadyReason() ?? '', /never loaded/);
  await refresher.start();
  refresher.close();
  assert.equal(refresher.current(), undefined);
  assert.equal(refresher.ageMs(), undefined);
  assert.match(refresher.readiness.notReadyReason() ?? '', /never loaded \(last error: SecretSourceError: store unreachable\)/);
});

test('a failed refresh keeps the last good set and counts a failure; invalid content too', async () => {
  const { state, registry, refresher } = setup();
  state.value = { good: 'tenant-a' };
  await refresher.start();
  refresher.close();
  assert.equal(refresher.current()?.lookup('good')?.tenants[0], 'tenant-a');

  state.error = new SecretSourceError('outage');
  assert.equal(await refresher.refreshNow(), false);
  state.error = undefined;
  state.value = { good: { tenant: 'a', tenants: ['b'] } };
  assert.equal(await refresher.refreshNow(), false);

  assert.equal(refresher.current()?.lookup('good')?.tenants[0], 'tenant-a');
  assert.equal(await metricValue(registry, 'scopegate_secret_refresh_total', { result: 'failure', source: 'fake' }), 2);
  assert.equal(await metricValue(registry, 'scopegate_secret_refresh_total', { result: 'success', source: 'fake' }), 1);
});

test('stale after the threshold, with the age in the reason; ready again after a successful refresh', async () => {
  const { state, clock, registry, refresher } = setup();
  state.value = { good: 'tenant-a' };
  await refresher.start();
  refresher.close();
  const loadedAt = clock.ms;
  assert.equal(refresher.readiness.notReadyReason(), undefined);
  state.error = new SecretSourceError('outage');
  clock.ms += 960_000;
  await refresher.refreshNow();
  assert.equal(refresher.ageMs(), 960_000);
  assert.equal(refresher.readiness.notReadyReason(), 'token set from fake is stale: last successful refresh 960s ago (threshold 900s)');
  assert.equal(await metricValue(registry, 'scopegate_secret_age_seconds', { source: 'fake' }), 960);
  assert.equal(await metricValue(registry, 'scopegate_secret_last_success_timestamp_seconds', {}), loadedAt / 1000);

  state.error = undefined;
  assert.equal(await refresher.refreshNow(), true);
  assert.equal(refresher.readiness.notReadyReason(), undefined);
  assert.equal(refresher.ageMs(), 0);
});

test('concurrent refreshes share one load', async () => {
  const { state, refresher } = setup();
  await Promise.all([refresher.refreshNow(), refresher.refreshNow(), refresher.refreshNow()]);
  assert.equal(state.loads, 1);
  refresher.close();
});

test('a source that hangs is given up after loadTimeoutMs: start resolves (not ready), so a start or reload never waits forever', async () => {
  // A real hanging load holds a socket, which keeps the event loop alive; AbortSignal.timeout's timer does not
  // (it is unref'd), so without this the runner could see an empty loop and cancel the test (seen on Node 22).
  const socketLike = setInterval(() => undefined, 1_000);
  const hanging: SecretSource = { name: 'hanging', load: () => new Promise(() => undefined) };
  const refresher = createTokenRefresher({
    source: hanging,
    parse: (raw) => parseTokenSet(raw, { authenticator: 'static-token' }),
    refreshIntervalMs: 60_000,
    staleThresholdMs: 900_000,
    clock: { now: () => 0 },
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    loadTimeoutMs: 20,
  });
  try {
    await refresher.start();
  } finally {
    clearInterval(socketLike);
  }
  refresher.close();
  assert.equal(refresher.current(), undefined);
  assert.match(refresher.readiness.notReadyReason() ?? '', /never loaded \(last error: Error: load gave up/);
});
