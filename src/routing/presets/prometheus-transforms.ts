import { readRequestParams, writeRequestParams, type Param } from '../../enforce/params.js';
import { uncachedPromQLEnforcer } from '../../enforce/promql/rewrite-cache.js';
import { InexpressiblePolicy, QueryParseError } from '../../enforce/errors.js';
import { quotePromString } from '../../enforce/promql/string-literal.js';
import { enforceRemoteWrite } from '../../enforce/write/remote-write.js';
import { selectorMatchers, type LabelPolicy, type LabelSelector } from '../../policy/label-policy.js';
import { BadRequest, Forbidden } from '../../core/http-errors.js';
import type { EnforceContext, ProxyRequest } from '../endpoint.js';
import { runEnforcer, toHttpError } from './enforce-http-errors.js';

/** Mimir/Loki/GEM label-access header: `<tenant>:<path-escaped selector>`, comma-separated (labelaccess pkg). */
export const LABEL_POLICY_HEADER = 'x-prom-label-policy';

/** Which parameters of a Prometheus API endpoint carry PromQL, and what to do when no `match[]` is sent. */
export interface PrometheusParamSpec {
  /** Parameters holding a whole expression (`query`). */
  readonly queries?: readonly string[];
  /** Parameters holding a series selector (`match[]`). */
  readonly selectors?: readonly string[];
  /** No selector sent: `'policy'` adds one built from the policy; `'refuse'` answers 400; default: nothing. */
  readonly whenNoSelector?: 'policy' | 'refuse';
  /**
   * VictoriaMetrics (`type = "victoriametrics"`): the policy is also sent as one `extra_filters[]`, which
   * VictoriaMetrics joins to the filters of every series it searches for the request, whatever the query.
   * A value the PromQL grammar cannot read (MetricsQL) is then forwarded as sent instead of refused; every
   * client `extra_filters`/`extra_filters[]`/`extra_label` is dropped (VictoriaMetrics ORs the filters).
   */
  readonly metricsql?: boolean;
}

/** VictoriaMetrics' filter parameters: several `extra_filters` are ORed, so only the gateway's may reach it. */
const VM_FILTER_PARAMS: ReadonlySet<string> = new Set(['extra_filters', 'extra_filters[]', 'extra_label']);

/**
 * Builds the `transformRequest` of a Prometheus API endpoint: reads every occurrence of every parameter (form
 * body and URL, see enforce/params.ts), enforces each `query` and `match[]` occurrence, and rebuilds the
 * request from the enforced values only. Enforcer errors become HTTP errors (400 query_parse_error, 415 …).
 * Rewrites go through the upstream's `promql` enforcer (its LRU, see rewrite-cache.ts) when it has one.
 */
export function createParamTransform(spec: PrometheusParamSpec) {
  const queries = new Set(spec.queries ?? []);
  const selectors = new Set(spec.selectors ?? []);
  return async (req: ProxyRequest, ctx: EnforceContext): Promise<void> => {
    const policy = requirePolicy(ctx);
    const promql = ctx.options.promql ?? uncachedPromQLEnforcer;
    const metricsql = spec.metricsql === true;
    // Where the query may go as written: VictoriaMetrics (MetricsQL, its ORed extra_filters[]), or an upstream
    // that enforces X-Prom-Label-Policy itself (a query PromQL cannot limit exactly to several selectors).
    const fallsBack = { metricsql, byHeader: ctx.options.nativeLabelPolicyHeader && ctx.options.nativeLabelPolicyEnforced === true };
    let params: Param[];
    try {
      params = (await readRequestParams(req))
        .filter(([name]) => !(metricsql && VM_FILTER_PARAMS.has(name)))
        .flatMap(([name, value]): Param[] => {
          if (queries.has(name)) return [[name, orMetricsql(fallsBack, value, () => promql.enforceQuery(value, policy))]];
          // One match[] per policy selector: Prometheus ORs them, so they select exactly the union.
          if (selectors.has(name))
            return orMetricsqlAll(fallsBack, value, () => promql.enforceSelectors(value, policy)).map((v): Param => [name, v]);
          return [[name, value]];
        });
    } catch (error) {
      throw toHttpError(error);
    }
    const [selectorName] = selectors;
    if (selectorName !== undefined && !params.some(([name]) => selectors.has(name))) {
      if (spec.whenNoSelector === 'refuse') throw new BadRequest('missing_match', `at least one ${selectorName} is required`);
      // Several match[] are ORed (Prometheus' series, labels and label values APIs): one per policy selector.
      if (spec.whenNoSelector === 'policy') for (const selector of buildPolicySelectors(policy)) params.push([selectorName, selector]);
    }
    // VictoriaMetrics ORs several extra_filters[]: one per policy selector is the union, exactly.
    if (metricsql) for (const filter of buildPolicySelectors(policy)) params.push(['extra_filters[]', filter]);
    writeRequestParams(req, params);
    setLabelPolicyHeader(req, ctx, policy);
  };
}

/**
 * The PromQL rewrite of `value`; for VictoriaMetrics, a value the PromQL grammar cannot read is MetricsQL and
 * goes as sent (the `extra_filters[]` enforces it there), and so does a query PromQL cannot limit exactly to a
 * policy of several selectors (VictoriaMetrics ORs the `extra_filters[]`, one per selector: the union, exactly).
 * Any other failure stays a failure.
 */
function orMetricsql(fallsBack: FallBack, value: string, rewrite: () => string): string {
  return orMetricsqlAll(fallsBack, value, () => [rewrite()])[0] as string;
}

interface FallBack {
  readonly metricsql: boolean;
  /** The upstream enforces X-Prom-Label-Policy (`native_label_policy_enforced`). */
  readonly byHeader: boolean;
}

function orMetricsqlAll(fallsBack: FallBack, value: string, rewrite: () => string[]): string[] {
  try {
    return rewrite();
  } catch (error) {
    if (fallsBack.metricsql && (error instanceof QueryParseError || error instanceof InexpressiblePolicy)) return [value];
    if (fallsBack.byHeader && error instanceof InexpressiblePolicy) return [value];
    throw error;
  }
}

/** Bound on a decompressed remote-write body; the snappy header states the size before anything is inflated. */
export const MAX_DECOMPRESSED_WRITE_BYTES = 64 * 1024 * 1024;

/**
 * Remote write (`/api/v1/write`, Mimir's `/api/v1/push`), 1.0 and 2.0: every series must satisfy the policy, or
 * get a missing single-literal label injected with `injectLabelsOnWrite` (enforce/write/remote-write.ts). A refused
 * series refuses the whole request (403), so nothing is partially written. Full access passes untouched. Prometheus
 * (≥ 2.54, `--web.remote-write-receiver.accepted-protobuf-messages`) and Mimir (≥ 2.17) read 2.0; the 2.0 response
 * headers (`X-Prometheus-Remote-Write-*-Written`) come back as the upstream sent them.
 */
export function enforceRemoteWriteRequest(req: ProxyRequest, ctx: EnforceContext): void {
  enforceWrite(req, ctx, true);
}

/** Remote write 1.0 only, for an upstream that does not read 2.0 (VictoriaMetrics): 2.0 is refused with 415. */
export function enforceRemoteWriteV1Request(req: ProxyRequest, ctx: EnforceContext): void {
  enforceWrite(req, ctx, false);
}

function enforceWrite(req: ProxyRequest, ctx: EnforceContext, acceptsRemoteWrite2: boolean): void {
  const policy = requirePolicy(ctx);
  delete req.headers[LABEL_POLICY_HEADER];
  const result = runEnforcer(() =>
    enforceRemoteWrite(req.body ?? Buffer.alloc(0), policy, {
      contentType: req.headers['content-type'],
      contentEncoding: req.headers['content-encoding'],
      injectLabels: ctx.options.injectLabelsOnWrite,
      maxDecompressedBytes: MAX_DECOMPRESSED_WRITE_BYTES,
      acceptsRemoteWrite2,
    }),
  );
  req.body = result.body;
}

/**
 * The policy as series selectors, one per policy selector, e.g. `{namespace=~"a|b", cluster="eu"}`: ORed
 * wherever they are sent as several values (`match[]`, `extra_filters[]`, the label-policy header). Empty for
 * full access.
 */
export function buildPolicySelectors(policy: LabelPolicy): string[] {
  return policy.fullAccess ? [] : policy.selectors.map(formatSeriesSelector);
}

function formatSeriesSelector(selector: LabelSelector): string {
  return `{${selectorMatchers(selector)
    .map((m) => `${m.label}${m.op}${quotePromString(m.value)}`)
    .join(', ')}}`;
}

/**
 * The client's own X-Prom-Label-Policy is always removed (it would widen or replace ours upstream). With
 * `nativeLabelPolicyHeader`, ours is sent for every tenant as well: one value per tenant and policy selector
 * (Loki's documented form, `<tenant>:<URL-encoded selector>`, values ORed). It replaces the rewrite only where
 * the rewrite cannot be exact and the upstream is said to enforce it (`nativeLabelPolicyEnforced`).
 */
export function setLabelPolicyHeader(req: ProxyRequest, ctx: EnforceContext, policy: LabelPolicy): void {
  delete req.headers[LABEL_POLICY_HEADER];
  const selectors = buildPolicySelectors(policy);
  if (!ctx.options.nativeLabelPolicyHeader || selectors.length === 0) return;
  const escaped = selectors.map(encodeURIComponent);
  req.headers[LABEL_POLICY_HEADER] = ctx.tenants.flatMap((tenant) => escaped.map((s) => `${tenant}:${s}`)).join(',');
}

function requirePolicy(ctx: EnforceContext): LabelPolicy {
  // Endpoints using these transforms are `requiresPolicy`; this guards a table row that forgot it.
  if (ctx.policy === undefined) throw new Forbidden('no_label_policy', 'identity has no label policy');
  return ctx.policy;
}
