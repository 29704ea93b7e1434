import { readRequestParams, writeRequestParams, type Param } from '../../enforce/params.js';
import { buildPolicyConditions, type TraceQueryOptions } from '../../enforce/traceql/conditions.js';
import { enforceTraceQuery } from '../../enforce/traceql/enforce.js';
import { filterTraceResponse, type TraceResponseFormat } from '../../enforce/traceql/trace-response.js';
import { enforceOtlpTraces } from '../../enforce/write/otlp-traces.js';
import { isLimitedPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { BadRequest, NotFound } from '../../core/http-errors.js';
import type { EnforceContext, Endpoint, EndpointQuery, Preset, ProxyRequest } from '../endpoint.js';
import { runEnforcer } from './enforce-http-errors.js';

/**
 * `type = "tempo"`: Grafana Tempo's HTTP API (docs: tempo/api_docs; paths from tempo `pkg/api/http.go`).
 * The tenant header isolates tenants, so no row requires a policy; when the identity has one, every TraceQL
 * parameter is enforced with `enforceTraceQuery` (resource attributes ANDed into every spanset filter).
 *
 * Trace by id has no query to enforce: its response is filtered to the policy instead (`requestJsonTrace`).
 * OTLP ingest is held to the same decision: every written resource must be one the policy could read back
 * (`enforceTraceIngest`).
 *
 * Tempo reads `q` with Go's `url.Values.Get` (first value, empty = absent) and, on the metrics endpoints,
 * `query` too (`q` wins). Every occurrence is enforced and the query string re-encoded canonically, so no
 * unenforced copy can be the one Tempo reads.
 */

/** The policy to enforce, or undefined when the identity may read everything in its tenants. */
function limitingPolicy(ctx: EnforceContext): (LabelPolicy & { fullAccess: false }) | undefined {
  return isLimitedPolicy(ctx.policy) ? ctx.policy : undefined;
}

type QueryRewrite = (params: Param[], policy: LabelPolicy, req: ProxyRequest) => Param[];

/** Builds a transform that rewrites the request's parameters for identities with a policy. */
function enforceParams(rewrite: QueryRewrite): (req: ProxyRequest, ctx: EnforceContext) => Promise<void> {
  return async (req, ctx) => {
    const policy = limitingPolicy(ctx);
    if (policy === undefined) return;
    const params = await readRequestParams(req);
    writeRequestParams(
      req,
      runEnforcer(() => rewrite(params, policy, req)),
    );
  };
}

/** Enforces every value of the named parameters; adds `q` = `{ <policy> }` when none is non-empty. */
function enforceTraceParams(names: readonly string[], options: TraceQueryOptions, addWhenMissing: boolean): QueryRewrite {
  return (params, policy) => {
    const present = params.some(([name, value]) => names.includes(name) && value !== '');
    const enforced = params
      .filter(([name, value]) => !(names.includes(name) && value === ''))
      .map(
        ([name, value]): Param =>
          names.includes(name) ? [name, runEnforcer(() => enforceTraceQuery(value, policy, options))] : [name, value],
      );
    if (present) return enforced;
    if (!addWhenMissing) throw new BadRequest('query_missing', `a TraceQL query (${names.join(' or ')}) is required`);
    return [...enforced, ['q', runEnforcer(() => enforceTraceQuery('', policy, options))]];
  };
}

/**
 * Search (`/api/search`): `q` is enforced. The legacy `tags` parameter (logfmt) cannot carry a resource-scoped
 * condition and Tempo refuses `tags` together with `q`, so it is refused for identities with a policy; since
 * `q` is always set for them, Tempo's older "every other parameter is a tag" fallback is off too.
 */
function enforceSearch(options: TraceQueryOptions): QueryRewrite {
  const rewriteQ = enforceTraceParams(['q'], options, true);
  return (params, policy, req) => {
    if (params.some(([name, value]) => name === 'tags' && value !== '')) {
      throw new BadRequest('tags_not_supported', 'the tags search parameter is not available with a label policy; use q (TraceQL)');
    }
    return rewriteQ(
      params.filter(([name]) => name !== 'tags'),
      policy,
      req,
    );
  };
}

/**
 * Tag and tag-value autocomplete (`/api/v2/search/tags`, `/api/v2/search/tag/<name>/values`): Tempo uses `q`
 * only as a best-effort filter, and drops it altogether (answering unfiltered) when it is not one simple
 * spanset filter (tempo `traceql.ExtractMatchers`). An enforced query with the user's `||` would do exactly
 * that, so `q` is replaced by the bare policy filter; the user's own narrowing is lost, the policy is not.
 * Needs a Tempo whose autocomplete filtering reads regex values (2.4+) when the policy has regexes. A policy of
 * several selectors would need `||`, which Tempo drops (answering unfiltered): refused (policy_not_expressible).
 */
function replaceWithPolicyFilter(options: TraceQueryOptions): QueryRewrite {
  return (params, policy) => [
    ...params.filter(([name]) => name !== 'q'),
    ['q', `{ ${buildPolicyConditions(policy, options).join(' && ')} }`],
  ];
}

/**
 * Trace by id, for identities with a policy: the tenant header alone would show the spans of every namespace
 * of the tenant in that trace. The request asks for JSON (a client's protobuf Accept is overridden; the core
 * asks for an uncompressed answer), and the answer keeps only the resource spans the policy allows
 * (`filterTraceResponse`, same label → attribute mapping as TraceQL). Nothing left → 404, as Tempo answers an
 * unknown trace, so the id alone tells nothing. Identities without a limit get the answer as sent.
 */
function requestJsonTrace(req: ProxyRequest, ctx: EnforceContext): void {
  if (limitingPolicy(ctx) === undefined) return;
  req.headers['accept'] = 'application/json';
  delete req.headers['accept-encoding'];
}

function filterTrace(format: TraceResponseFormat, options: TraceQueryOptions): NonNullable<Endpoint['filterResponse']> {
  return (body, ctx) => {
    const policy = limitingPolicy(ctx);
    if (policy === undefined) return body;
    const kept = filterTraceResponse(body, policy, format, options);
    if (kept === undefined) throw new NotFound('trace_not_found', 'trace not found');
    return kept;
  };
}

/** Bound on a gunzipped OTLP body (as Loki's push bound), against decompression bombs. */
const MAX_DECODED_TRACE_BYTES = 64 * 1024 * 1024;

/**
 * OTLP/HTTP ingest, for identities with a policy: without a check a team-a writer could put spans under a
 * team-b resource, and team-b's reads (trace by id, search) would show them. Every ResourceSpans' resource
 * must pass the trace-by-id decision (`enforceOtlpTraces`), else 403 and nothing is sent. The body checked is
 * the body sent: protobuf as received (decompressed when it came gzipped), JSON re-serialised. Identities
 * without a limit write as before, the body untouched.
 */
function enforceTraceIngest(options: TraceQueryOptions): NonNullable<Endpoint['transformRequest']> {
  return (req, ctx) => {
    const policy = limitingPolicy(ctx);
    if (policy === undefined) return;
    const input = {
      body: req.body ?? Buffer.alloc(0),
      contentType: req.headers['content-type'],
      contentEncoding: req.headers['content-encoding'],
    };
    const out = runEnforcer(() => enforceOtlpTraces(input, policy, { ...options, maxDecodedBytes: MAX_DECODED_TRACE_BYTES }));
    if (out.contentType === undefined) return; // the request as received
    req.body = out.body;
    req.headers['content-type'] = out.contentType;
    delete req.headers['content-encoding'];
  };
}

/**
 * What Tempo's queries read (tempo pkg/api/http.go): search, its `start` and `end` as integer Unix seconds, both
 * or neither (neither searches recent data only, counted as the last hour); TraceQL metrics, `start`, `end`
 * and `since` as Loki reads them (`determineBounds`: end = now, start = min(end, now) − since, since = 1h when
 * absent), and `step` on query_range (Tempo picks one when absent). Search reads `q`; metrics read `q` and
 * `query` (`q` wins); the span summary `q`, with search's times.
 */
const SEARCH: EndpointQuery = {
  params: ['q'],
  dialect: 'traceql',
  kind: 'search',
  times: { format: 'unix-integer', params: { start: 'start', end: 'end' }, span: { kind: 'both-or-neither', spanMs: 3_600_000 } },
};
const METRICS_SPAN = { kind: 'since', sinceMs: 3_600_000 } as const;
const METRICS_RANGE: EndpointQuery = {
  params: ['q', 'query'],
  dialect: 'traceql',
  kind: 'range',
  times: { format: 'unix-nanos-or-rfc3339', params: { start: 'start', end: 'end', since: 'since', step: 'step' }, span: METRICS_SPAN },
};
const METRICS_INSTANT: EndpointQuery = {
  params: ['q', 'query'],
  dialect: 'traceql',
  kind: 'instant',
  times: { format: 'unix-nanos-or-rfc3339', params: { start: 'start', end: 'end', since: 'since' }, span: METRICS_SPAN },
};
const TAGS: EndpointQuery = { params: ['q'], dialect: 'traceql', kind: 'series' };

const TRACE_BY_ID = /^\/api\/traces\/[0-9a-fA-F]{1,32}$/;
const TRACE_BY_ID_V2 = /^\/api\/v2\/traces\/[0-9a-fA-F]{1,32}$/;
const TAG_VALUES_V1 = /^\/api\/search\/tag\/[^/]+\/values$/;
const TAG_VALUES_V2 = /^\/api\/v2\/search\/tag\/[^/]+\/values$/;

export type TempoPresetOptions = TraceQueryOptions;

export function createTempoPreset(options: TempoPresetOptions = {}): Preset {
  const read = (name: string, path: string | RegExp, extra: Partial<Endpoint> = {}): Endpoint => ({
    name: `tempo.${name}`,
    methods: ['GET'],
    path,
    scope: 'read',
    component: 'query-frontend',
    ...extra,
  });
  return {
    type: 'tempo',
    components: ['distributor', 'query-frontend'],
    writesByDefault: true,
    endpoints: [
      // OTLP/HTTP ingest (protobuf or JSON, optionally gzip): with a policy, every resource must carry the
      // policy's attributes with allowed values (the trace-by-id decision), else 403 and nothing is written.
      {
        name: 'tempo.otlp_traces',
        methods: ['POST'],
        path: '/v1/traces',
        scope: 'write',
        component: 'distributor',
        bufferBody: true,
        transformRequest: enforceTraceIngest(options),
        writeFormat: 'otlp-traces',
      },
      read('search', '/api/search', { transformRequest: enforceParams(enforceSearch(options)), query: SEARCH }),
      // v1 tag endpoints may ignore `q` entirely: only identities that may read everything get them.
      read('search_tags', '/api/search/tags', { fullAccessOnly: true }),
      read('search_tag_values', TAG_VALUES_V1, { fullAccessOnly: true }),
      read('search_tags_v2', '/api/v2/search/tags', { transformRequest: enforceParams(replaceWithPolicyFilter(options)), query: TAGS }),
      read('search_tag_values_v2', TAG_VALUES_V2, { transformRequest: enforceParams(replaceWithPolicyFilter(options)), query: TAGS }),
      read('trace_by_id', TRACE_BY_ID, { transformRequest: requestJsonTrace, filterResponse: filterTrace('v1', options) }),
      read('trace_by_id_v2', TRACE_BY_ID_V2, { transformRequest: requestJsonTrace, filterResponse: filterTrace('v2', options) }),
      read('metrics_query_range', '/api/metrics/query_range', {
        transformRequest: enforceParams(enforceTraceParams(METRICS_RANGE.params, options, false)),
        query: METRICS_RANGE,
      }),
      read('metrics_query', '/api/metrics/query', {
        transformRequest: enforceParams(enforceTraceParams(METRICS_INSTANT.params, options, false)),
        query: METRICS_INSTANT,
      }),
      read('metrics_summary', '/api/metrics/summary', {
        transformRequest: enforceParams(enforceTraceParams(['q'], options, true)),
        query: SEARCH,
      }),
      read('echo', '/api/echo'),
      read('ready', '/ready'),
      read('buildinfo', '/api/status/buildinfo'),
    ],
  };
}

export const tempoPreset: Preset = createTempoPreset();
