import type { CostReport } from '../endpoint.js';

/**
 * Where the backends report what a query cost (`EndpointQuery.reports`), read by the gateway on the way back
 * (upstream/cost-reading-handler.ts). A figure a backend does not send is left out, never guessed.
 */

/**
 * Prometheus' query statistics (web/api/v1/api.go): any non-empty `stats` adds `data.stats`, last member of
 * `data`, with `samples.totalQueryableSamples` and `samples.peakSamples`; `stats=all` adds the samples per step
 * too (one pair per step: up to 11,000 on a range query), which the gateway does not need, so it asks with `1`.
 * https://prometheus.io/docs/prometheus/latest/querying/api/ ; Amazon Managed Prometheus documents the same.
 */
export const PROMETHEUS_STATS: CostReport = {
  askParam: { name: 'stats', value: '1' },
  body: {
    member: 'stats',
    read: (stats) => {
      const samples = numberAt(stats, 'samples', 'totalQueryableSamples');
      return samples === undefined ? {} : { samples };
    },
  },
};

/**
 * Loki's query statistics (pkg/logqlmodel/stats `Summary`): every query and query_range answer carries
 * `data.stats.summary` with `totalBytesProcessed`, `totalLinesProcessed`, `execTime` (seconds) and more. Always
 * sent, so never asked for and never removed: the member read is `summary`, inside `stats`.
 */
export const LOKI_STATS: CostReport = {
  body: {
    member: 'summary',
    read: (summary) => {
      const bytesProcessed = numberAt(summary, 'totalBytesProcessed');
      const linesProcessed = numberAt(summary, 'totalLinesProcessed');
      return {
        ...(bytesProcessed === undefined ? {} : { bytesProcessed }),
        ...(linesProcessed === undefined ? {} : { linesProcessed }),
      };
    },
  },
};

/**
 * Mimir's query-frontend reports the samples a query processed in its `Server-Timing` header
 * (`samples_processed`, grafana/mimir#10103, 2.15 and later), with `bytes_processed` beside it; it does not
 * take Prometheus' `stats`. Entries are `name;desc=…;dur=…` or `name=value` (dskit): both are read.
 */
export const MIMIR_SERVER_TIMING: CostReport = {
  header: {
    name: 'server-timing',
    read: (value) => {
      const samples = serverTimingValue(value, 'samples_processed');
      const bytesProcessed = serverTimingValue(value, 'bytes_processed');
      return { ...(samples === undefined ? {} : { samples }), ...(bytesProcessed === undefined ? {} : { bytesProcessed }) };
    },
  },
};

function numberAt(value: unknown, ...path: string[]): number | undefined {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === 'number' && Number.isFinite(at) && at >= 0 ? at : undefined;
}

/** `name=12` or `name;val=12` or `name;dur=12` in a Server-Timing list (W3C Server Timing §3). */
export function serverTimingValue(header: string, name: string): number | undefined {
  for (const entry of header.split(',')) {
    const [metric, ...params] = entry.split(';').map((part) => part.trim());
    if (metric === undefined) continue;
    const equals = metric.indexOf('=');
    const metricName = equals === -1 ? metric : metric.slice(0, equals);
    if (metricName !== name) continue;
    const candidates = equals === -1 ? params.map((p) => p.replace(/^(?:val|dur)=/, '')) : [metric.slice(equals + 1)];
    for (const text of candidates) {
      const number = Number(text.replace(/^"|"$/g, ''));
      if (text !== '' && Number.isFinite(number) && number >= 0) return number;
    }
  }
  return undefined;
}
