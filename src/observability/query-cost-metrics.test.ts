import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { DecisionRecord } from './decision-log/record.js';
import { createQueryCostSink } from './query-cost-metrics.js';

function query(tenant: string, subject: string, endpoint = 'prometheus.query_range'): DecisionRecord {
  return {
    time: 't', requestId: 'r', traceId: 't', decision: 'allow', status: 200, method: 'GET', durationMs: 500, responseBytes: 1000,
    identity: { authenticator: 'static-token', subject, tenants: [tenant], scopes: ['read'] }, tenants: [tenant], endpoint,
  };
}

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries((metric?.values ?? []).map((v) => [`${String(v.labels.tenant)}/${String(v.labels.identity)}`, v.value]));
}

test('query cost per tenant and identity, bounded: later identities and tenants fold into _other', async () => {
  const registry = new Registry();
  const sink = createQueryCostSink(registry, { identitiesPerTenant: 2, tenants: 2 });
  for (const [tenant, subject] of [['a', 'x'], ['a', 'y'], ['a', 'z'], ['a', 'w'], ['a', 'x'], ['b', 'x'], ['c', 'x']] as const) sink.write(query(tenant, subject));
  sink.write(query('a', 'x', 'prometheus.series'));
  sink.write({ ...query('a', 'x'), decision: 'deny', code: 'query_range_too_long' });
  assert.deepEqual(await values(registry, 'scopegate_query_cost_queries_total'), {
    'a/static-token:x': 2, 'a/static-token:y': 1, 'a/_other': 2, 'b/static-token:x': 1, '_other/_other': 1,
  });
  assert.equal((await values(registry, 'scopegate_query_cost_seconds_total'))['a/static-token:x'], 1);
  assert.equal((await values(registry, 'scopegate_query_cost_response_bytes_total'))['a/_other'], 2000);
});
