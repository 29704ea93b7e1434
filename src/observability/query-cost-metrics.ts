import { Counter, Histogram, type Registry } from 'prom-client';
import type { DecisionRecord, DecisionSink } from './decision-log/record.js';

/** The label of identities and tenants past the bounds: their cost still counts, folded together. */
export const OTHER = '_other';

export interface QueryCostOptions {
  readonly identitiesPerTenant: number;
  readonly tenants: number;
}

/**
 * Query cost per tenant and identity, from each request's decision record (a sink, so it needs no hook of its
 * own): queries, seconds and response bytes of the query endpoints (`*.query`, `*.query_range`, Tempo search and
 * metrics), as the gateway measures them. Cardinality is bounded: the first `tenants` tenants and, in each,
 * the first `identitiesPerTenant` identities seen get their own label; later ones are counted as `_other`, so a
 * flood of new tokens cannot grow /metrics. The backend's own statistics (Prometheus `stats`) are not read yet.
 */
export function createQueryCostSink(registry: Registry, options: QueryCostOptions): DecisionSink {
  const labelNames = ['tenant', 'identity'] as const;
  const queries = new Counter({ name: 'scopegate_query_cost_queries_total', help: 'Queries sent upstream, by tenant and identity (bounded: later ones count as _other).', labelNames, registers: [registry] });
  const seconds = new Counter({ name: 'scopegate_query_cost_seconds_total', help: 'Seconds from request to the last byte of the response, summed over queries, by tenant and identity.', labelNames, registers: [registry] });
  const bytes = new Counter({ name: 'scopegate_query_cost_response_bytes_total', help: 'Bytes written to the client for queries, by tenant and identity.', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'scopegate_query_cost_duration_seconds',
    help: 'Query duration by tenant (bounded like the counters).',
    labelNames: ['tenant'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const seen = new Map<string, Set<string>>();

  function labelsOf(tenant: string, identity: string): { tenant: string; identity: string } {
    let identities = seen.get(tenant);
    if (identities === undefined) {
      if (seen.size >= options.tenants) return { tenant: OTHER, identity: OTHER };
      identities = new Set();
      seen.set(tenant, identities);
    }
    if (!identities.has(identity)) {
      if (identities.size >= options.identitiesPerTenant) return { tenant, identity: OTHER };
      identities.add(identity);
    }
    return { tenant, identity };
  }

  return {
    accepting: () => true,
    write(record: DecisionRecord) {
      if (record.decision !== 'allow' || record.endpoint === undefined || !isQueryEndpoint(record.endpoint)) return;
      const tenant = record.tenants?.join('|') ?? 'none';
      const identity = record.identity === undefined ? 'none' : `${record.identity.authenticator}:${record.identity.subject}`;
      const labels = labelsOf(tenant, identity);
      const durationSeconds = record.durationMs / 1000;
      queries.inc(labels);
      seconds.inc(labels, durationSeconds);
      if (record.responseBytes !== undefined) bytes.inc(labels, record.responseBytes);
      duration.observe({ tenant: labels.tenant }, durationSeconds);
    },
    close: async () => {},
  };
}

function isQueryEndpoint(name: string): boolean {
  return name.endsWith('.query') || name.endsWith('.query_range') || name === 'tempo.search' || name === 'tempo.metrics_query_range';
}
