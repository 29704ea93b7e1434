import type { QueryCostRecord } from './query-cost-record.js';

/**
 * The most expensive identities and queries of the last hour, for the admin listener's `/query-cost`. Kept in
 * one-minute buckets (60 at most, older ones dropped as time passes), each bounded: per bucket at most
 * `maxIdentities` identities (later ones of that minute are added to an `other` row) and the `topQueries`
 * queries with the most samples and the `topQueries` that took longest. Query texts are cut to
 * `MAX_QUERY_CHARS`. A report merges the buckets of the last 60 minutes, so it covers between 59 and 60 of them.
 */
export interface QueryCostLedger {
  record(cost: QueryCostRecord): void;
  report(by?: IdentityOrder): QueryCostReport;
}

export type IdentityOrder = 'samples' | 'seconds' | 'bytes';

export interface IdentityTotals {
  tenant: string;
  identity: string;
  queries: number;
  samples: number;
  bytesProcessed: number;
  responseBytes: number;
  seconds: number;
}

export interface LedgerQuery extends Omit<QueryCostRecord, 'samples' | 'bytesProcessed' | 'rangeSeconds' | 'stepSeconds'> {
  readonly samples: number | null;
  readonly bytesProcessed: number | null;
  readonly rangeSeconds: number | null;
  readonly stepSeconds: number | null;
  /** When the query ended, RFC 3339. */
  readonly time: string;
}

export interface QueryCostReport {
  readonly windowSeconds: number;
  readonly identities: readonly IdentityTotals[];
  /** By samples where reported, then by seconds. */
  readonly queries: readonly LedgerQuery[];
}

export const MAX_QUERY_CHARS = 1024;
const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;

interface MinuteBucket {
  readonly minute: number;
  readonly identities: Map<string, IdentityTotals>;
  bySamples: LedgerQuery[];
  bySeconds: LedgerQuery[];
}

export function createQueryCostLedger(options: {
  readonly now: () => number;
  readonly topQueries: number;
  readonly maxIdentities: number;
  readonly topIdentities: number;
}): QueryCostLedger {
  const buckets = new Map<number, MinuteBucket>();

  function bucketNow(): MinuteBucket {
    const minute = Math.floor(options.now() / MINUTE_MS);
    let bucket = buckets.get(minute);
    if (bucket === undefined) {
      for (const old of buckets.keys()) if (old <= minute - WINDOW_MINUTES) buckets.delete(old);
      bucket = { minute, identities: new Map(), bySamples: [], bySeconds: [] };
      buckets.set(minute, bucket);
    }
    return bucket;
  }

  return {
    record(cost) {
      const bucket = bucketNow();
      let key = `${cost.tenant}\u0000${cost.identity}`;
      if (!bucket.identities.has(key) && bucket.identities.size >= options.maxIdentities) key = `${cost.tenant}\u0000other`;
      const totals = bucket.identities.get(key) ?? emptyTotals(cost.tenant, key.slice(cost.tenant.length + 1));
      addTo(totals, cost);
      bucket.identities.set(key, totals);
      // Most queries make neither list once a minute's lists are full: the entry is built only for one that does.
      const bySamples = cost.samples !== undefined && entersTop(bucket.bySamples, cost.samples, (q) => q.samples ?? 0, options.topQueries);
      const bySeconds = entersTop(bucket.bySeconds, cost.seconds, (q) => q.seconds, options.topQueries);
      if (!bySamples && !bySeconds) return;
      const entry: LedgerQuery = {
        ...cost,
        query: cost.query.length > MAX_QUERY_CHARS ? `${cost.query.slice(0, MAX_QUERY_CHARS)}…` : cost.query,
        samples: cost.samples ?? null,
        bytesProcessed: cost.bytesProcessed ?? null,
        rangeSeconds: cost.rangeSeconds ?? null,
        stepSeconds: cost.stepSeconds ?? null,
        time: new Date(options.now()).toISOString(),
      };
      if (bySamples) bucket.bySamples = withEntry(bucket.bySamples, entry, (q) => q.samples ?? 0, options.topQueries);
      if (bySeconds) bucket.bySeconds = withEntry(bucket.bySeconds, entry, (q) => q.seconds, options.topQueries);
    },
    report(by = 'samples') {
      const since = Math.floor(options.now() / MINUTE_MS) - WINDOW_MINUTES;
      const identities = new Map<string, IdentityTotals>();
      const queries = new Set<LedgerQuery>();
      for (const bucket of buckets.values()) {
        if (bucket.minute <= since) continue;
        for (const [key, totals] of bucket.identities) {
          const merged = identities.get(key) ?? emptyTotals(totals.tenant, totals.identity);
          merged.queries += totals.queries;
          merged.samples += totals.samples;
          merged.bytesProcessed += totals.bytesProcessed;
          merged.responseBytes += totals.responseBytes;
          merged.seconds += totals.seconds;
          identities.set(key, merged);
        }
        for (const query of [...bucket.bySamples, ...bucket.bySeconds]) queries.add(query);
      }
      const order = IDENTITY_ORDER[by];
      return {
        windowSeconds: WINDOW_MINUTES * 60,
        identities: [...identities.values()].sort((a, b) => order(b) - order(a) || b.seconds - a.seconds).slice(0, options.topIdentities),
        queries: [...queries].sort((a, b) => (b.samples ?? -1) - (a.samples ?? -1) || b.seconds - a.seconds).slice(0, options.topQueries),
      };
    },
  };
}

const IDENTITY_ORDER: Readonly<Record<IdentityOrder, (totals: IdentityTotals) => number>> = {
  samples: (t) => t.samples,
  seconds: (t) => t.seconds,
  bytes: (t) => t.responseBytes,
};

function emptyTotals(tenant: string, identity: string): IdentityTotals {
  return { tenant, identity, queries: 0, samples: 0, bytesProcessed: 0, responseBytes: 0, seconds: 0 };
}

function addTo(totals: IdentityTotals, cost: QueryCostRecord): void {
  totals.queries += 1;
  totals.samples += cost.samples ?? 0;
  totals.bytesProcessed += cost.bytesProcessed ?? 0;
  totals.responseBytes += cost.responseBytes;
  totals.seconds += cost.seconds;
}

/** Whether a query scoring `value` gets into the `size` largest of `top`. */
function entersTop(top: readonly LedgerQuery[], value: number, score: (q: LedgerQuery) => number, size: number): boolean {
  return top.length < size || score(top[top.length - 1] as LedgerQuery) < value;
}

/** `top` with `entry`, still the `size` largest by `score`, largest first. */
function withEntry(top: readonly LedgerQuery[], entry: LedgerQuery, score: (q: LedgerQuery) => number, size: number): LedgerQuery[] {
  const next = [...top, entry].sort((a, b) => score(b) - score(a));
  if (next.length > size) next.length = size;
  return next;
}
