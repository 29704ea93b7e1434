/**
 * `type = "loki"`: Loki's HTTP API as a table (Loki 3 "Loki HTTP API" reference, docs/sources/reference/
 * loki-http-api.md). Components follow its microservices mode: push on the distributor, reads on the
 * query-frontend, tail on the querier, rules on the ruler, deletes on the compactor, flush on the ingester.
 * Paths not listed (OTLP ingest, legacy /api/prom/*, ring pages, /metrics) are 404: OTLP labels come from
 * resource attributes the gateway cannot check, and legacy paths would be a second door to the same data.
 */
import { createLokiPushTransform, createLokiReadTransform, type LokiReadSpec } from './loki-transforms.js';
import { filterAlertsResponse, filterRulesResponse } from '../../enforce/responses/rules-alerts.js';
import type { Endpoint, EndpointQuery, Preset, QueryTimes } from '../endpoint.js';
import { LOKI_STATS } from './cost-reports.js';
import { filterForPolicy } from './prometheus.js';
import { rulerConfigReadRows } from './ruler-config.js';

const READ = ['GET', 'POST'];
const QUERY: LokiReadSpec = { params: ['query'], kind: 'query', defaultToPolicy: false };
const LOG_QUERY: LokiReadSpec = { params: ['query'], kind: 'selector', defaultToPolicy: false };
const SELECTOR: LokiReadSpec = { params: ['query'], kind: 'selector', defaultToPolicy: true };
// Loki's series endpoint reads `match[]` (and accepts `match`); without one it lists every stream.
const SERIES: LokiReadSpec = { params: ['match[]', 'match'], kind: 'selector', defaultToPolicy: true, ored: true };

/**
 * What Loki's queries read (pkg/util/http.go `determineBounds`, pkg/loghttp): an instant query `time` (default
 * now); a range query `start`, `end`, `since` and `step`, with end = now, start = min(end, now) − since and
 * since = 1h when absent, and a step Loki picks when absent.
 */
const LOKI_INSTANT: QueryTimes = { format: 'unix-nanos-or-rfc3339', params: { time: 'time' } };
const LOKI_RANGE: QueryTimes = {
  format: 'unix-nanos-or-rfc3339',
  params: { start: 'start', end: 'end', since: 'since', step: 'step' },
  span: { kind: 'since', sinceMs: 3_600_000 },
};

/**
 * A read row. Its query is a lookup (`series`) unless `query` says what else it evaluates, or `null` when it
 * evaluates nothing stored (format_query formats it, tail streams new lines).
 */
function read(
  name: string,
  path: string | RegExp,
  spec: LokiReadSpec,
  component = 'query-frontend',
  query: Partial<EndpointQuery> | null = {},
): Endpoint {
  return {
    name: `loki.${name}`,
    methods: READ,
    path,
    scope: 'read',
    component,
    bufferBody: true,
    transformRequest: createLokiReadTransform(spec),
    ...(query === null ? {} : { query: { params: spec.params, dialect: 'logql', kind: 'series', ...query } }),
  };
}

function plain(name: string, methods: string[], path: string | RegExp, scope: Endpoint['scope'], component?: string): Endpoint {
  return { name: `loki.${name}`, methods, path, scope, ...(component ? { component } : {}) };
}

/**
 * Alert instances and rule states carry series labels: with a policy they are cut to it, as on the Prometheus
 * and Mimir presets (an unreadable answer throws, and is a 502). Without a policy the tenant header isolates.
 */
const RULES_PATH = /^\/loki\/api\/v1\/rules(?:\/[^/]+){0,2}$/;

export const lokiPreset: Preset = {
  type: 'loki',
  components: ['distributor', 'query-frontend', 'querier', 'ruler', 'compactor', 'ingester'],
  writesByDefault: true,
  // Loki's API is /loki/api/v1/ but not Prometheus': its errors keep the gateway's body.
  prometheusErrorPaths: { notUnder: ['/loki/'] },
  endpoints: [
    {
      name: 'loki.push',
      methods: ['POST'],
      path: '/loki/api/v1/push',
      scope: 'write',
      component: 'distributor',
      bufferBody: true,
      transformRequest: createLokiPushTransform(),
      writeFormat: 'loki-push-request',
    },
    read('query', '/loki/api/v1/query', QUERY, undefined, { kind: 'instant', times: LOKI_INSTANT, reports: LOKI_STATS }),
    read('query_range', '/loki/api/v1/query_range', QUERY, undefined, { kind: 'range', times: LOKI_RANGE, reports: LOKI_STATS }),
    read('series', '/loki/api/v1/series', SERIES),
    read('labels', /^\/loki\/api\/v1\/labels?$/, SELECTOR),
    read('label_values', /^\/loki\/api\/v1\/label\/[^/]+\/values$/, SELECTOR),
    read('index_stats', '/loki/api/v1/index/stats', SELECTOR),
    read('index_volume', '/loki/api/v1/index/volume', SELECTOR),
    read('index_volume_range', '/loki/api/v1/index/volume_range', SELECTOR),
    read('detected_fields', '/loki/api/v1/detected_fields', LOG_QUERY),
    read('detected_field_values', /^\/loki\/api\/v1\/detected_field\/[^/]+\/values$/, LOG_QUERY),
    read('detected_labels', '/loki/api/v1/detected_labels', SELECTOR),
    read('patterns', '/loki/api/v1/patterns', LOG_QUERY),
    read('format_query', '/loki/api/v1/format_query', QUERY, undefined, null),
    {
      ...read('tail', '/loki/api/v1/tail', LOG_QUERY, 'querier', null),
      methods: ['GET'],
      bufferBody: false,
      websocket: true,
    },
    // Ruler: rule definitions are tenant-wide (Loki's LBAC doesn't apply to the ruler either): a limited
    // identity sees only the groups whose rules read inside its policy (ruler-config.ts); rule states and
    // alert instances hold series labels, so they are filtered to the policy.
    ...rulerConfigReadRows('loki.rules', '/loki/api/v1/rules', 'ruler', 'logql'),
    { ...plain('rules_change', ['POST', 'DELETE'], RULES_PATH, 'write', 'ruler'), fullAccessOnly: true },
    {
      ...plain('prometheus_rules', ['GET'], '/prometheus/api/v1/rules', 'read', 'ruler'),
      filterResponse: filterForPolicy((body, policy) => filterRulesResponse(body, policy, 'logql')),
    },
    {
      ...plain('prometheus_alerts', ['GET'], '/prometheus/api/v1/alerts', 'read', 'ruler'),
      filterResponse: filterForPolicy(filterAlertsResponse),
    },
    // Status.
    plain('ready', ['GET'], '/ready', 'read'),
    plain('buildinfo', ['GET'], '/loki/api/v1/status/buildinfo', 'read', 'query-frontend'),
    // Admin: deletes rewrite history; flush/shutdown/config operate the cluster.
    plain('delete', ['GET', 'POST', 'DELETE'], '/loki/api/v1/delete', 'admin', 'compactor'),
    plain('flush', ['POST', 'GET'], '/flush', 'admin', 'ingester'),
    plain('ingester_shutdown', ['POST', 'GET', 'DELETE'], /^\/ingester\/(?:prepare_)?shutdown$/, 'admin', 'ingester'),
    plain('config', ['GET'], '/config', 'admin'),
  ],
};
