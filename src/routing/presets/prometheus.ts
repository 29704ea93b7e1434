import { filterAlertsResponse, filterRulesResponse } from '../../enforce/responses/rules-alerts.js';
import type { LabelPolicy } from '../../policy/label-policy.js';
import type { EnforceContext, Endpoint, EndpointQuery, Preset } from '../endpoint.js';
import { PROMETHEUS_STATS } from './cost-reports.js';
import { createParamTransform, enforceRemoteWriteRequest } from './prometheus-transforms.js';

/**
 * `type = "prometheus"`: the Prometheus HTTP API (also Mimir's, Thanos' and VictoriaMetrics' Prometheus API).
 * Reference: https://prometheus.io/docs/prometheus/latest/querying/api/
 *
 * - Query and series endpoints: every `query` and `match[]` occurrence is rewritten (prometheus-transforms.ts).
 * - Rules and alerts: the response is filtered, since Prometheus ignores `match[]` there before 2.54.
 * - Endpoints that list every tenant's metric names, targets or TSDB stats: full access only.
 * - Writes and admin endpoints get the `write`/`admin` scope, so the pipeline refuses them unless granted (and
 *   writes unless the upstream sets `allow_write`). A remote-write body is checked series by series against the
 *   policy; OTLP cannot be checked (labels come from resource attributes), so it needs full access.
 * Any other path is 404 (presets are allow-lists). Not offered: /api/v1/read (remote read, protobuf queries).
 */

const GET_POST = ['GET', 'POST'];
const enforceQueryParam = createParamTransform({ queries: ['query'] });
const enforceMatchOrPolicy = createParamTransform({ selectors: ['match[]'], whenNoSelector: 'policy' });
const enforceMatchIfSent = createParamTransform({ selectors: ['match[]'] });
const enforceMatchRequired = createParamTransform({ selectors: ['match[]'], whenNoSelector: 'refuse' });

// What the queries read (web/api/v1/api.go): `time` defaults to now; query_range needs start, end and step.
// Both report their samples when asked (`stats`).
const INSTANT: EndpointQuery = {
  params: ['query'],
  dialect: 'promql',
  kind: 'instant',
  times: { format: 'unix-or-rfc3339', params: { time: 'time' } },
  reports: PROMETHEUS_STATS,
};
const RANGE: EndpointQuery = {
  params: ['query'],
  dialect: 'promql',
  kind: 'range',
  times: { format: 'unix-or-rfc3339', params: { start: 'start', end: 'end', step: 'step' }, span: { kind: 'required' } },
  reports: PROMETHEUS_STATS,
};
// Exemplars, series, labels, federation, rules: lookups by `query` or `match[]`, not costed.
const EXEMPLARS: EndpointQuery = { params: ['query'], dialect: 'promql', kind: 'series' };
const MATCH: EndpointQuery = { params: ['match[]'], dialect: 'promql', kind: 'series' };

/**
 * A rules/alerts response filter for the identity's policy. An answer that cannot be read as the API promises
 * throws a plain error, which the forwarder answers as 502 (the upstream's fault, not the client's).
 */
export function filterForPolicy(filter: (body: Buffer, policy: LabelPolicy) => Buffer): NonNullable<Endpoint['filterResponse']> {
  return (body: Buffer, ctx: EnforceContext): Buffer => (ctx.policy === undefined ? body : filter(body, ctx.policy));
}

function queryRow(
  name: string,
  path: string,
  methods: readonly string[],
  transform: Endpoint['transformRequest'],
  query: EndpointQuery,
): Endpoint {
  return {
    name: `prometheus.${name}`,
    methods,
    path,
    scope: 'read',
    requiresPolicy: true,
    bufferBody: true,
    transformRequest: transform,
    query,
  };
}

function fullAccessRow(name: string, path: string | RegExp, scope: Endpoint['scope'], methods = GET_POST): Endpoint {
  return { name: `prometheus.${name}`, methods, path, scope, requiresPolicy: true, fullAccessOnly: true };
}

export const prometheusEndpoints: readonly Endpoint[] = [
  queryRow('query', '/api/v1/query', GET_POST, enforceQueryParam, INSTANT),
  queryRow('query_range', '/api/v1/query_range', GET_POST, enforceQueryParam, RANGE),
  queryRow('query_exemplars', '/api/v1/query_exemplars', GET_POST, enforceQueryParam, EXEMPLARS),
  queryRow('series', '/api/v1/series', GET_POST, enforceMatchOrPolicy, MATCH),
  queryRow('labels', '/api/v1/labels', GET_POST, enforceMatchOrPolicy, MATCH),
  {
    ...queryRow('label_values', '/api/v1/label/_/values', ['GET'], enforceMatchOrPolicy, MATCH),
    path: /^\/api\/v1\/label\/[^/]+\/values$/,
  },
  queryRow('federate', '/federate', ['GET'], enforceMatchRequired, MATCH),
  {
    ...queryRow('rules', '/api/v1/rules', ['GET'], enforceMatchIfSent, MATCH),
    filterResponse: filterForPolicy((body, policy) => filterRulesResponse(body, policy, 'promql')),
  },
  { ...queryRow('alerts', '/api/v1/alerts', ['GET'], enforceMatchIfSent, MATCH), filterResponse: filterForPolicy(filterAlertsResponse) },
  { name: 'prometheus.buildinfo', methods: ['GET'], path: '/api/v1/status/buildinfo', scope: 'read' },
  { name: 'prometheus.healthy', methods: ['GET', 'HEAD'], path: '/-/healthy', scope: 'read' },
  { name: 'prometheus.ready', methods: ['GET', 'HEAD'], path: '/-/ready', scope: 'read' },
  // Every tenant's metric names, help texts, targets, cardinality or configuration.
  fullAccessRow('metadata', '/api/v1/metadata', 'read', ['GET']),
  fullAccessRow('targets_metadata', '/api/v1/targets/metadata', 'read', ['GET']),
  fullAccessRow('targets', '/api/v1/targets', 'read', ['GET']),
  fullAccessRow('scrape_pools', '/api/v1/scrape_pools', 'read', ['GET']),
  fullAccessRow('alertmanagers', '/api/v1/alertmanagers', 'read', ['GET']),
  fullAccessRow('status', /^\/api\/v1\/status\/(config|flags|runtimeinfo|tsdb|walreplay)$/, 'read', ['GET']),
  // Writes: remote write is validated (or completed) series by series; OTLP is not readable here.
  {
    name: 'prometheus.remote_write',
    methods: ['POST'],
    path: '/api/v1/write',
    scope: 'write',
    requiresPolicy: true,
    bufferBody: true,
    transformRequest: enforceRemoteWriteRequest,
    writeFormat: 'prometheus-remote-write',
  },
  { ...fullAccessRow('otlp_write', '/api/v1/otlp/v1/metrics', 'write', ['POST']), writeFormat: 'otlp-metrics' },
  // Admin: delete_series is narrowed to the policy's series; the rest act on the whole server.
  { ...queryRow('delete_series', '/api/v1/admin/tsdb/delete_series', ['POST', 'PUT'], enforceMatchRequired, MATCH), scope: 'admin' },
  fullAccessRow('clean_tombstones', '/api/v1/admin/tsdb/clean_tombstones', 'admin', ['POST', 'PUT']),
  fullAccessRow('snapshot', '/api/v1/admin/tsdb/snapshot', 'admin', ['POST', 'PUT']),
  fullAccessRow('reload', '/-/reload', 'admin', ['POST', 'PUT']),
  fullAccessRow('quit', '/-/quit', 'admin', ['POST', 'PUT']),
];

// Prometheus is mostly read: remote write (its receiver) is opt-in with allow_write.
export const prometheusPreset: Preset = {
  type: 'prometheus',
  components: [],
  endpoints: prometheusEndpoints,
  writesByDefault: false,
  prometheusErrorPaths: { containing: ['/api/v1/'] },
};
