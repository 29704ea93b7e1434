import { Counter, type Registry } from 'prom-client';
import { HotPathHistogram } from './hot-path-metrics.js';
import { createIdentityFolding, OTHER_IDENTITIES } from './identity-folding.js';
import { costScore, type QueryCostRecord } from './query-cost-record.js';

/**
 * Query cost per tenant and identity: counters labelled by the identity among the tenant's top N (the rest
 * under `identity="other"`, identity-folding.ts), and histograms per tenant for the dashboard; past
 * `maxTenants` tenants, new ones are `tenant="other"`. Samples and
 * bytes processed are counted only where the backend reports them.
 */
export interface QueryCostMetrics {
  record(cost: QueryCostRecord): void;
}

const COUNTERS = {
  samples: [
    'scopegate_query_samples_total',
    'Samples the backend loaded for queries (where it reports them), by tenant and identity (top N per tenant, the rest as other).',
  ],
  bytesProcessed: [
    'scopegate_query_processed_bytes_total',
    'Bytes the backend read for queries (where it reports them: Loki, Mimir), by tenant and identity.',
  ],
  responseBytes: ['scopegate_query_response_bytes_total', 'Response body bytes sent to clients for queries, by tenant and identity.'],
  seconds: ['scopegate_query_seconds_total', 'Seconds spent on queries, request to last byte, by tenant and identity.'],
  queries: ['scopegate_queries_total', 'Queries accounted, by tenant and identity.'],
} as const;

export function createQueryCostMetrics(
  registry: Registry,
  options: { readonly topIdentities: number; readonly maxTenants: number; readonly now: () => number },
): QueryCostMetrics {
  const counters = Object.fromEntries(
    Object.entries(COUNTERS).map(([key, [name, help]]) => [
      key,
      new Counter({ name, help, labelNames: ['tenant', 'identity'], registers: [registry] }),
    ]),
  ) as Record<keyof typeof COUNTERS, Counter<'tenant' | 'identity'>>;
  // Per tenant (at most `maxTenants` and `other`, never removed): hot-path histograms, which find a series
  // without hashing a label object on every query as prom-client's do.
  const samples = new HotPathHistogram<[tenant: string]>({
    name: 'scopegate_query_samples',
    help: 'Samples loaded per query, where the backend reports them, by tenant.',
    labelNames: ['tenant'],
    buckets: [1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9],
    registry,
  });
  const duration = new HotPathHistogram<[tenant: string]>({
    name: 'scopegate_query_duration_seconds',
    help: 'Seconds per query, request to last byte, by tenant.',
    labelNames: ['tenant'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registry,
  });
  const responseSize = new HotPathHistogram<[tenant: string]>({
    name: 'scopegate_query_response_size_bytes',
    help: 'Response body bytes per query, by tenant.',
    labelNames: ['tenant'],
    buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 1e8],
    registry,
  });
  const folding = createIdentityFolding({
    topN: options.topIdentities,
    halfLifeMs: 3_600_000,
    now: options.now,
    onEvicted(tenant, identity) {
      for (const counter of Object.values(counters)) counter.remove({ tenant, identity });
    },
  });
  // Tenants may come from JWT claims: the first `maxTenants` seen get their own series, later ones `other`.
  const tenants = new Set<string>();
  const tenantLabel = (tenant: string): string => {
    if (tenants.has(tenant)) return tenant;
    if (tenants.size >= options.maxTenants) return OTHER_IDENTITIES;
    tenants.add(tenant);
    return tenant;
  };
  return {
    record(cost) {
      const tenant = tenantLabel(cost.tenant);
      const labels = {
        tenant,
        identity: tenant === OTHER_IDENTITIES ? OTHER_IDENTITIES : folding.labelFor(tenant, cost.identity, costScore(cost)),
      };
      counters.queries.inc(labels);
      counters.seconds.inc(labels, cost.seconds);
      counters.responseBytes.inc(labels, cost.responseBytes);
      if (cost.samples !== undefined) counters.samples.inc(labels, cost.samples);
      if (cost.bytesProcessed !== undefined) counters.bytesProcessed.inc(labels, cost.bytesProcessed);
      duration.observe(cost.seconds, tenant);
      responseSize.observe(cost.responseBytes, tenant);
      if (cost.samples !== undefined) samples.observe(cost.samples, tenant);
    },
  };
}
