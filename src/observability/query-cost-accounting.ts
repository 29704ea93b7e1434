import type { Registry } from 'prom-client';
import { createQueryCostLedger, type IdentityOrder, type QueryCostReport } from './query-cost-ledger.js';
import { createQueryCostMetrics } from './query-cost-metrics.js';
import type { QueryCostRecord } from './query-cost-record.js';

/** Where a finished query's cost goes: the per-identity metrics and the last hour's ledger. */
export interface QueryCostAccounting {
  /** Ask backends that report only when asked (`[query_cost] ask_backend`). */
  readonly askBackend: boolean;
  record(cost: QueryCostRecord): void;
  report(by?: IdentityOrder): QueryCostReport;
}

/** Identities of one minute's bucket in the ledger; past it, that minute's newcomers are one `other` row. */
const LEDGER_IDENTITIES_PER_MINUTE = 1000;

export function createQueryCostAccounting(
  registry: Registry,
  config: { readonly top_identities: number; readonly max_tenants: number; readonly top_queries: number; readonly ask_backend: boolean },
  now: () => number,
): QueryCostAccounting {
  const metrics = createQueryCostMetrics(registry, { topIdentities: config.top_identities, maxTenants: config.max_tenants, now });
  const ledger = createQueryCostLedger({
    now,
    topQueries: config.top_queries,
    topIdentities: 20,
    maxIdentities: LEDGER_IDENTITIES_PER_MINUTE,
  });
  return {
    askBackend: config.ask_backend,
    record(cost) {
      metrics.record(cost);
      ledger.record(cost);
    },
    report: (by) => ledger.report(by),
  };
}
