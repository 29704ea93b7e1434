/** The upstream's answers, shared with the runner and the peers. */
export const SMALL_BODY = Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
/** The small answer with Prometheus' statistics, as it answers a query that carries a non-empty `stats` ([query_cost]). */
export const SMALL_STATS_BODY = Buffer.from(
  JSON.stringify({
    status: 'success',
    data: {
      resultType: 'vector',
      result: [],
      stats: { timings: { evalTotalTime: 0.001, execTotalTime: 0.002 }, samples: { totalQueryableSamples: 1234, peakSamples: 7 } },
    },
  }),
);
/** A query string that asks for statistics: `stats` with a value. */
export const ASKS_STATS = /[?&]stats=[^&]/;
export const BIG_BODY = Buffer.alloc(100 * 1024, 'x');
/** Paths: anything else answers the small body. */
export const BIG_PATH = '/big';
export const SMALL_PATH = '/api/v1/query?query=up';
/** Answered by the upstream itself (never proxied): how many connections it has accepted so far. */
export const CONNECTIONS_PATH = '/__bench/connections';
/** A dashboard query, sent through the `type = "prometheus"` route by an identity limited to one namespace. */
export const PROMQL_QUERY = 'sum by (code) (rate(http_requests_total{job="api", code=~"5.."}[5m]))';
export const PROMQL_PATH = `/api/v1/query?${new URLSearchParams({ query: PROMQL_QUERY, time: '1700000000' })}`;
/** The Host that routes to the gateway's `prometheus` upstream (the raw one takes every other Host). */
export const PROMQL_HOST = 'prom.bench';
/**
 * A 2 KB form POST as Grafana sends a range query: `query=` with a long dashboard expression (a sum over
 * per-service error ratios), start, end and step.
 */
export const FORM_PATH = '/api/v1/query_range';
const services = ['api', 'web', 'auth', 'billing', 'search', 'checkout', 'cart', 'ingest', 'export', 'mailer', 'queue', 'report'];
const LONG_QUERY = services
  .map((job) => `sum(rate(http_requests_total{job="${job}", code=~"5.."}[5m])) / sum(rate(http_requests_total{job="${job}"}[5m]))`)
  .join(' + ');
export const FORM_BODY = new URLSearchParams({ query: LONG_QUERY, start: '1700000000', end: '1700003600', step: '15' }).toString();
