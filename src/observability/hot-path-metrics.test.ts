import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { HotPathCounter, HotPathHistogram } from './hot-path-metrics.js';

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.1, 1, 30];

/** The same metrics twice: ours, and prom-client's own Counter and Histogram as the reference, fed the same calls. */
function createPair(contentType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE) {
  const ours = new Registry<RegistryContentType>();
  const reference = new Registry<RegistryContentType>();
  ours.setContentType(contentType);
  reference.setContentType(contentType);
  const counter = { name: 'test_requests_total', help: 'Requests.', labelNames: ['tenant', 'endpoint', 'code'] };
  const histogram = { name: 'test_duration_seconds', help: 'Durations.', labelNames: ['upstream', 'endpoint'], buckets };
  const ourCounter = new HotPathCounter<[tenant: string, endpoint: string, code: number]>({ ...counter, registry: ours });
  const ourHistogram = new HotPathHistogram<[upstream: string, endpoint: string]>({ ...histogram, registry: ours });
  const referenceCounter = new Counter({ ...counter, registers: [reference] });
  const referenceHistogram = new Histogram({ ...histogram, registers: [reference] });
  return {
    ours,
    reference,
    count(tenant: string, endpoint: string, code: number) {
      ourCounter.inc(tenant, endpoint, code);
      referenceCounter.labels(tenant, endpoint, String(code)).inc();
    },
    observe(seconds: number, upstream: string, endpoint: string) {
      ourHistogram.observe(seconds, upstream, endpoint);
      referenceHistogram.labels(upstream, endpoint).observe(seconds);
    },
    async assertSameExposition() {
      const text = await ours.metrics();
      assert.equal(text, await reference.metrics());
      return text;
    },
  };
}

/** Durations that land on bounds, between them, above the last one, and sums that round in floating point. */
const durations = [0, 0.001, 0.0010001, 0.1, 0.2, 0.3, 0.7, 1, 29.9, 30, 30.5, 1e3, 0.0025, 1 / 3];

test('the exposition is line for line the one of prom-client Counter and Histogram fed the same calls, scraped between calls', async () => {
  const pair = createPair();
  assert.match(await pair.assertSameExposition(), /^# TYPE test_duration_seconds histogram$/m);
  durations.forEach((seconds, i) => {
    pair.count(`team-${i % 3}`, i % 2 ? 'query' : 'series', i % 4 ? 200 : 403);
    pair.observe(seconds, i % 5 ? 'prom' : 'loki', i % 2 ? 'query' : 'series');
  });
  const text = await pair.assertSameExposition();
  assert.match(text, /^test_duration_seconds_bucket\{le="0.001",upstream="prom",endpoint="query"\} \d+$/m);
  assert.match(text, /^test_duration_seconds_sum\{upstream="prom",endpoint="series"\} [\d.]+$/m);
  assert.match(text, /^test_requests_total\{tenant="team-0",endpoint="series",code="403"\} \d+$/m);
  // A scrape changes nothing: the counts go on from where they were, and new series come after the old ones.
  for (const seconds of durations) {
    pair.count('team-0', 'series', 403);
    pair.count('team-9', 'labels', 500);
    pair.observe(seconds, 'tempo', 'search');
    pair.observe(seconds, 'prom', 'query');
    await pair.assertSameExposition();
  }
});

test('resetMetrics empties them as it empties prom-client metrics', async () => {
  const pair = createPair();
  pair.count('team-a', 'query', 200);
  pair.observe(0.5, 'prom', 'query');
  pair.ours.resetMetrics();
  pair.reference.resetMetrics();
  assert.doesNotMatch(await pair.assertSameExposition(), /team-a|prom/);
  pair.count('team-b', 'query', 200);
  pair.observe(0.004, 'prom', 'query');
  assert.match(await pair.assertSameExposition(), /^test_requests_total\{tenant="team-b",endpoint="query",code="200"\} 1$/m);
});

test('OpenMetrics exposition is the same too', async () => {
  const pair = createPair(Registry.OPENMETRICS_CONTENT_TYPE);
  pair.count('team-a', 'query', 200);
  pair.observe(0.5, 'prom', 'query');
  assert.match(await pair.assertSameExposition(), /^test_requests_total\{tenant="team-a",endpoint="query",code="200"\} 1$/m);
  assert.match(await pair.assertSameExposition(), /^# EOF$/m);
});

test('a cluster primary sums the workers as it sums prom-client metrics (getMetricsAsJSON over IPC, then aggregate)', async () => {
  const workers = [createPair(), createPair()];
  durations.forEach((seconds, i) => {
    const worker = workers[i % 2]!;
    worker.count(`team-${i % 3}`, 'query', 200);
    worker.observe(seconds, 'prom', i % 3 ? 'query' : 'series');
  });
  // cluster-ipc.ts sends each worker's getMetricsAsJSON() through process.send, which serialises to JSON.
  const overIpc = async (registry: Registry<RegistryContentType>) => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON()));
  const summed = async (side: 'ours' | 'reference') =>
    AggregatorRegistry.aggregate(await Promise.all(workers.map((worker) => overIpc(worker[side])))).metrics();
  // What a worker sends is prom-client's shape, label values as strings; only prom-client's empty exemplars are left out.
  const withoutExemplars = async (registry: Registry<RegistryContentType>) =>
    JSON.parse(JSON.stringify(await registry.getMetricsAsJSON(), (key, value: unknown) => (key === 'exemplar' ? undefined : value)));
  assert.deepEqual(await withoutExemplars(workers[0]!.ours), await withoutExemplars(workers[0]!.reference));
  const text = await summed('ours');
  assert.equal(text, await summed('reference'));
  assert.match(text, /^test_requests_total\{tenant="team-0",endpoint="query",code="200"\} 5$/m);
  assert.match(text, /^test_duration_seconds_count\{upstream="prom",endpoint="query"\} 9$/m);
});

test('a value that is not a finite number is refused with a TypeError, as prom-client refuses it', () => {
  const registry = new Registry();
  const ours = new HotPathHistogram<[string]>({ name: 'a_seconds', help: 'A.', labelNames: ['upstream'], buckets, registry });
  const reference = new Histogram({ name: 'b_seconds', help: 'B.', labelNames: ['upstream'], buckets, registers: [registry] });
  for (const seconds of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.throws(() => ours.observe(seconds, 'prom'), TypeError);
    assert.throws(() => reference.labels('prom').observe(seconds), TypeError);
  }
});

test('label values are told apart exactly: no joined key for two series to share', async () => {
  const registry = new Registry();
  const counter = new HotPathCounter<[string, string]>({ name: 'pairs_total', help: 'Pairs.', labelNames: ['a', 'b'], registry });
  counter.inc('x\u0000y', 'z');
  counter.inc('x', 'y\u0000z');
  const text = await registry.metrics();
  assert.match(text, /^pairs_total\{a="x\u0000y",b="z"\} 1$/m);
  assert.match(text, /^pairs_total\{a="x",b="y\u0000z"\} 1$/m);
});

test('more than four labels, or fewer label values than names, is refused', () => {
  const registry = new Registry();
  const five = { name: 'five_total', help: 'Five.', labelNames: ['a', 'b', 'c', 'd', 'e'], registry };
  assert.throws(() => new HotPathCounter<[string]>(five), /between 1 and 4 label names/);
  const counter = new HotPathCounter<[string, string]>({ name: 'two_total', help: 'Two.', labelNames: ['a', 'b'], registry });
  assert.throws(() => (counter.inc as (...values: string[]) => void)('a'), /expected 2 label values/);
});
