/**
 * `type = "mimir"`: Grafana Mimir's HTTP API as a table (Mimir "HTTP API" reference, docs/sources/mimir/
 * references/http-api). Components follow its microservices mode: remote write and OTLP on the distributor,
 * the Prometheus API (`/prometheus` prefix) on the query-frontend, rules on the ruler, the per-tenant
 * Alertmanager (`/alertmanager` prefix) on the alertmanager, flush/shutdown on the ingester, tenant deletion on
 * the compactor. A component without its own address goes to the main one (the single-address gateway form).
 *
 * Mimir isolates tenants by X-Scope-OrgID, so no row requires a label policy: an identity without one reads
 * and writes its whole tenant, unchanged; a policy, when present, is enforced exactly as on the Prometheus
 * preset (the rows are the same, prefixed). Endpoints that cannot be narrowed to a policy (OTLP ingest,
 * metadata, tenant stats, other cardinality views) are for identities without a policy or with full access.
 * Any other path is 404 (legacy unprefixed query paths, remote read, ring and status pages, /config).
 */
import type { Endpoint, Preset } from '../endpoint.js';
import { alertmanagerPreset } from './alertmanager.js';
import { MIMIR_SERVER_TIMING } from './cost-reports.js';
import { prometheusEndpoints } from './prometheus.js';
import { createParamTransform, enforceRemoteWriteRequest, LABEL_POLICY_HEADER } from './prometheus-transforms.js';
import { rulerConfigReadRows } from './ruler-config.js';

const PROMETHEUS_PREFIX = '/prometheus';
const ALERTMANAGER_PREFIX = '/alertmanager';

type Transform = NonNullable<Endpoint['transformRequest']>;

/**
 * Runs a Prometheus-preset transform only when the identity has a policy; without one, Mimir's tenant header
 * is the isolation and the request passes unchanged (but never with a client-sent X-Prom-Label-Policy).
 */
function whenPolicy(transform: Transform | undefined): Transform {
  return (req, ctx) => {
    delete req.headers[LABEL_POLICY_HEADER];
    if (ctx.policy === undefined || transform === undefined) return;
    return transform(req, ctx);
  };
}

function whenPolicyFilter(filter: Endpoint['filterResponse']): Endpoint['filterResponse'] {
  if (filter === undefined) return undefined;
  return (body, ctx) => (ctx.policy === undefined ? body : filter(body, ctx));
}

function withPrefix(prefix: string, path: string | RegExp): string | RegExp {
  if (typeof path === 'string') return `${prefix}${path}`;
  // Table patterns are anchored (`^\/api…$`): insert the prefix after the anchor.
  return new RegExp(`^${prefix.replace(/\//g, '\\/')}${path.source.slice(1)}`, path.flags);
}

const prometheusRows = new Map(prometheusEndpoints.map((e) => [e.name.replace(/^prometheus\./, ''), e]));

/** A Prometheus-preset row under `/prometheus`, on a Mimir component, with the policy optional. */
function fromPrometheus(name: string, component: string, extra: Partial<Endpoint> = {}): Endpoint {
  const row = prometheusRows.get(name);
  if (row === undefined) throw new Error(`prometheus preset has no row ${name}`);
  const filterResponse = whenPolicyFilter(row.filterResponse);
  return {
    ...row,
    name: `mimir.${name}`,
    path: withPrefix(PROMETHEUS_PREFIX, row.path),
    component,
    requiresPolicy: false,
    transformRequest: whenPolicy(row.transformRequest),
    ...(filterResponse ? { filterResponse } : {}),
    // Mimir reports a query's cost in its Server-Timing header, not in Prometheus' `stats`.
    ...(row.query?.reports ? { query: { ...row.query, reports: MIMIR_SERVER_TIMING } } : {}),
    ...extra,
  };
}

/** An Alertmanager v2 row under `/alertmanager`: tenant-wide without a policy, enforced with one. */
function fromAlertmanager(row: Endpoint): Endpoint {
  return {
    ...row,
    name: `mimir.${row.name}`,
    path: withPrefix(ALERTMANAGER_PREFIX, row.path),
    component: 'alertmanager',
    requiresPolicy: false,
  };
}

function row(
  name: string,
  methods: string[],
  path: string | RegExp,
  scope: Endpoint['scope'],
  component?: string,
  extra: Partial<Endpoint> = {},
): Endpoint {
  return { name: `mimir.${name}`, methods, path, scope, ...(component ? { component } : {}), ...extra };
}

const GET_POST = ['GET', 'POST'];
// Cardinality views over a `selector` (optional; without one Mimir counts the whole tenant).
const enforceCardinalitySelector = createParamTransform({ selectors: ['selector'], whenNoSelector: 'policy' });
const cardinalityRow = (name: string): Endpoint => ({
  ...row(`cardinality_${name}`, GET_POST, `${PROMETHEUS_PREFIX}/api/v1/cardinality/${name}`, 'read', 'query-frontend'),
  bufferBody: true,
  transformRequest: whenPolicy(enforceCardinalitySelector),
  query: { params: ['selector'], dialect: 'promql', kind: 'series' },
});
const RULER_CONFIG = /^\/prometheus\/config\/v1\/rules(?:\/[^/]+){0,2}$/;

export const mimirPreset: Preset = {
  type: 'mimir',
  components: ['distributor', 'query-frontend', 'ruler', 'alertmanager', 'compactor', 'ingester'],
  writesByDefault: true,
  // The Prometheus API below /prometheus/.
  prometheusErrorPaths: { containing: ['/api/v1/'] },
  endpoints: [
    // Distributor. Remote write is checked series by series; OTLP metrics take their labels from resource
    // attributes this gateway does not decode, so a limited identity could write anywhere: refused.
    row('remote_write', ['POST'], '/api/v1/push', 'write', 'distributor', {
      bufferBody: true,
      transformRequest: whenPolicy(enforceRemoteWriteRequest),
      writeFormat: 'prometheus-remote-write',
    }),
    row('otlp_write', ['POST'], '/otlp/v1/metrics', 'write', 'distributor', { fullAccessOnly: true, writeFormat: 'otlp-metrics' }),

    // Query-frontend: the Prometheus API under /prometheus.
    ...['query', 'query_range', 'query_exemplars', 'series', 'labels', 'label_values'].map((n) => fromPrometheus(n, 'query-frontend')),
    fromPrometheus('metadata', 'query-frontend', { fullAccessOnly: true }),
    cardinalityRow('label_names'),
    cardinalityRow('label_values'),
    cardinalityRow('active_series'),
    cardinalityRow('active_native_histogram_metrics'),
    row('cardinality_other', GET_POST, /^\/prometheus\/api\/v1\/cardinality\/[^/]+$/, 'read', 'query-frontend', {
      fullAccessOnly: true,
    }),
    row('user_stats', ['GET'], /^(?:\/prometheus)?\/api\/v1\/user_stats$/, 'read', 'query-frontend', {
      fullAccessOnly: true,
    }),
    fromPrometheus('delete_series', 'query-frontend'),

    // Ruler: rules and alerts are filtered to the policy; rule configuration is tenant-wide, so a limited
    // identity reads only the groups whose rules read inside its policy (ruler-config.ts) and changes none
    // (rules run outside any label policy).
    fromPrometheus('rules', 'ruler'),
    fromPrometheus('alerts', 'ruler'),
    ...rulerConfigReadRows('mimir.ruler_config', '/prometheus/config/v1/rules', 'ruler', 'promql'),
    row('ruler_config_change', ['POST', 'DELETE'], RULER_CONFIG, 'write', 'ruler', { fullAccessOnly: true }),

    // Alertmanager: one per tenant (the header isolates); a policy is enforced as on a shared Alertmanager.
    ...alertmanagerPreset.endpoints.map(fromAlertmanager),
    // Its configuration (receivers, templates) is the whole tenant's.
    row('alertmanager_config', ['GET', 'POST', 'DELETE'], '/api/v1/alerts', 'admin', 'alertmanager'),

    // Operations.
    row('flush', ['GET', 'POST'], /^(?:\/ingester)?\/flush$/, 'admin', 'ingester'),
    row('shutdown', ['GET', 'POST', 'DELETE'], /^(?:\/ingester)?\/(?:prepare-)?shutdown$/, 'admin', 'ingester'),
    row('compactor', ['GET', 'POST', 'DELETE'], /^\/compactor\/[^/]+$/, 'admin', 'compactor'),
    row('ready', ['GET'], '/ready', 'read'),
    row('buildinfo', ['GET'], '/api/v1/status/buildinfo', 'read', 'query-frontend'),
  ],
};
