import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createQueryCostMetrics } from './query-cost-metrics.js';
import type { QueryCostRecord } from './query-cost-record.js';

function record(tenant: string, identity: string, samples: number | undefined): QueryCostRecord {
  return {
    tenant,
    identity,
    upstream: 'prom',
    endpoint: 'prometheus.query',
    query: 'up',
    samples,
    bytesProcessed: undefined,
    responseBytes: 10,
    seconds: 0.5,
    rangeSeconds: undefined,
    stepSeconds: undefined,
  };
}

async function series(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => line.slice(name.length));
}

test("per tenant the top N identities have series, the rest are other; a displaced identity's series go", async () => {
  const registry = new Registry();
  const metrics = createQueryCostMetrics(registry, { topIdentities: 1, maxTenants: 10, now: () => 0 });
  metrics.record(record('t', 'a', 100));
  metrics.record(record('t', 'b', 50));
  assert.deepEqual(await series(registry, 'scopegate_query_samples_total'), [
    '{tenant="t",identity="a"} 100',
    '{tenant="t",identity="other"} 50',
  ]);
  metrics.record(record('t', 'b', 200)); // 250 > 2 × 100
  assert.deepEqual(await series(registry, 'scopegate_query_samples_total'), [
    '{tenant="t",identity="other"} 50',
    '{tenant="t",identity="b"} 200',
  ]);
  assert.deepEqual(await series(registry, 'scopegate_queries_total'), ['{tenant="t",identity="other"} 1', '{tenant="t",identity="b"} 1']);
});

test('past max_tenants, new tenants are counted as tenant="other"; without reported samples none are counted', async () => {
  const registry = new Registry();
  const metrics = createQueryCostMetrics(registry, { topIdentities: 5, maxTenants: 1, now: () => 0 });
  metrics.record(record('t1', 'a', undefined));
  metrics.record(record('t2', 'b', undefined));
  assert.deepEqual(await series(registry, 'scopegate_queries_total'), [
    '{tenant="t1",identity="a"} 1',
    '{tenant="other",identity="other"} 1',
  ]);
  assert.deepEqual(await series(registry, 'scopegate_query_samples_total'), []);
  assert.equal((await series(registry, 'scopegate_query_duration_seconds_count')).length, 2);
});

test('the per-tenant histograms: buckets (le first), sum and count per tenant, as the dashboard reads them', async () => {
  const registry = new Registry();
  const metrics = createQueryCostMetrics(registry, { topIdentities: 2, maxTenants: 10, now: () => 0 });
  metrics.record({ ...record('a', 'x', 1234), seconds: 0.02, responseBytes: 500 });
  metrics.record({ ...record('a', 'y', undefined), seconds: 0.3, responseBytes: 20_000 });
  metrics.record({ ...record('b', 'x', 5), seconds: 200, responseBytes: 1 });
  const text = await registry.metrics();
  for (const line of [
    'scopegate_query_duration_seconds_bucket{le="0.05",tenant="a"} 1',
    'scopegate_query_duration_seconds_bucket{le="0.5",tenant="a"} 2',
    'scopegate_query_duration_seconds_bucket{le="120",tenant="b"} 0',
    'scopegate_query_duration_seconds_bucket{le="+Inf",tenant="b"} 1',
    'scopegate_query_duration_seconds_sum{tenant="a"} 0.32',
    'scopegate_query_duration_seconds_count{tenant="a"} 2',
    'scopegate_query_response_size_bytes_bucket{le="1000",tenant="a"} 1',
    'scopegate_query_response_size_bytes_bucket{le="100000",tenant="a"} 2',
    'scopegate_query_samples_bucket{le="1000",tenant="a"} 0',
    'scopegate_query_samples_bucket{le="10000",tenant="a"} 1',
    'scopegate_query_samples_count{tenant="a"} 1',
    'scopegate_query_samples_count{tenant="b"} 1',
    '# TYPE scopegate_query_duration_seconds histogram',
  ]) {
    assert.ok(text.split('\n').includes(line), `${line}\n${text}`);
  }
});
