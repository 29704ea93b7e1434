import type { Endpoint, Preset } from '../endpoint.js';
import { prometheusEndpoints } from './prometheus.js';
import { createParamTransform, enforceRemoteWriteV1Request } from './prometheus-transforms.js';

/**
 * `type = "victoriametrics"`: single-node VictoriaMetrics (or vmselect's `/select/<tenant>/prometheus` as the
 * upstream URL), where clients speak MetricsQL. The gateway cannot parse MetricsQL, so it uses the filter
 * VictoriaMetrics enforces itself: every request that reads series carries the policy as one
 * `extra_filters[]`, which VictoriaMetrics joins to the label filters of every series search it makes for the
 * request (`WITH` templates, `or` filters, subqueries, `union`, … included). On top of that:
 *
 * - a `query`/`match[]` the PromQL grammar reads is rewritten as on `type = "prometheus"` (two independent
 *   enforcements); one it cannot read is forwarded as sent and VictoriaMetrics answers 422 if it is not
 *   MetricsQL either;
 * - the client's own `extra_filters`, `extra_filters[]` and `extra_label` are dropped (VictoriaMetrics ORs
 *   several `extra_filters`, so one from the client would widen the gateway's);
 * - the request is rebuilt from the enforced parameters only, as on `type = "prometheus"`.
 *
 * The rest of the table is the Prometheus preset's (rules/alerts filtered, metadata full access only, admin
 * blocked, remote write validated), plus VictoriaMetrics' export API (`match[]` required, filtered the same
 * way) and its import and status endpoints (full access only: their bodies and answers are not checked).
 */
const GET_POST = ['GET', 'POST'];
const query = createParamTransform({ queries: ['query'], metricsql: true });
const matchOrPolicy = createParamTransform({ selectors: ['match[]'], whenNoSelector: 'policy', metricsql: true });
const matchRequired = createParamTransform({ selectors: ['match[]'], whenNoSelector: 'refuse', metricsql: true });

/** Prometheus rows VictoriaMetrics serves differently: parameters filtered with `extra_filters[]`, remote write 1.0 only. */
const FILTERED: Readonly<Record<string, Endpoint['transformRequest']>> = {
  query,
  query_range: query,
  series: matchOrPolicy,
  labels: matchOrPolicy,
  label_values: matchOrPolicy,
  federate: matchRequired,
  // VictoriaMetrics reads remote write 1.0 only: 2.0 is refused here (415) rather than forwarded unchecked.
  remote_write: enforceRemoteWriteV1Request,
};

function row(name: string, path: string | RegExp, methods: readonly string[], extra: Partial<Endpoint>): Endpoint {
  return { name: `victoriametrics.${name}`, methods, path, scope: 'read', requiresPolicy: true, ...extra };
}

export const victoriaMetricsEndpoints: readonly Endpoint[] = [
  ...prometheusEndpoints.map((endpoint): Endpoint => {
    const name = endpoint.name.replace(/^prometheus\./, '');
    const transform = FILTERED[name];
    if (!transform) return { ...endpoint, name: `victoriametrics.${name}` };
    // remote_write has no query to read as MetricsQL: only its transform differs (1.0 only).
    if (!endpoint.query) return { ...endpoint, name: `victoriametrics.${name}`, transformRequest: transform };
    // VictoriaMetrics takes no `stats` and reports no cost in its answer: the row says none.
    const { reports: _unreported, ...query } = endpoint.query;
    return { ...endpoint, name: `victoriametrics.${name}`, transformRequest: transform, query: { ...query, dialect: 'metricsql' } };
  }),
  row('export', /^\/api\/v1\/export(?:\/csv|\/native)?$/, GET_POST, {
    bufferBody: true,
    transformRequest: matchRequired,
    query: { params: ['match[]'], dialect: 'metricsql', kind: 'series' },
  }),
  row('series_count', '/api/v1/series/count', ['GET'], { fullAccessOnly: true }),
  row('status', /^\/api\/v1\/status\/(?:active_queries|top_queries)$/, ['GET'], { fullAccessOnly: true }),
  row('import', /^\/api\/v1\/import(?:\/csv|\/native|\/prometheus)?$/, ['POST'], { scope: 'write', fullAccessOnly: true }),
];

export const victoriaMetricsPreset: Preset = {
  type: 'victoriametrics',
  components: [],
  endpoints: victoriaMetricsEndpoints,
  writesByDefault: false,
  prometheusErrorPaths: { containing: ['/api/v1/'] },
};
