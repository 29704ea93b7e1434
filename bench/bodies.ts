/** The upstream's answers, shared with the runner so it can check every response arrived whole. */
export const SMALL_BODY = Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
export const BIG_BODY = Buffer.alloc(100 * 1024, 'x');
/** Paths: anything else answers the small body. */
export const BIG_PATH = '/big';
export const SMALL_PATH = '/api/v1/query?query=up';
/** A dashboard query, sent through the `type = "prometheus"` route by an identity limited to one namespace. */
export const PROMQL_QUERY = 'sum by (code) (rate(http_requests_total{job="api", code=~"5.."}[5m]))';
export const PROMQL_PATH = `/api/v1/query?${new URLSearchParams({ query: PROMQL_QUERY, time: '1700000000' })}`;
/** The Host that routes to the gateway's `prometheus` upstream (the raw one takes every other Host). */
export const PROMQL_HOST = 'prom.bench';
