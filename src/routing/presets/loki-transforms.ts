/**
 * Request transforms for Loki endpoints (the Loki preset's, as prometheus-transforms.ts is Prometheus'): enforce
 * the label policy in query parameters and push bodies; the pure enforcers' errors become HTTP errors through
 * the one translator (enforce-http-errors.ts).
 *
 * Loki without a label policy: the tenant header alone isolates, so identities with no policy read and write
 * tenant-wide (no `requiresPolicy`); a policy, when present, is always enforced.
 */
import { enforceLogQuery, enforceLogSelector, enforceLogSelectors } from '../../enforce/logql/enforce.js';
import { rewriteRequestParams } from '../../enforce/logql/loki-params.js';
import { formatSelector } from '../../enforce/logql/selector.js';
import { enforceLokiPush } from '../../enforce/write/loki-push.js';
import { selectorMatchers, type LimitedPolicy } from '../../policy/label-policy.js';
import { onlySelector } from '../../enforce/one-selector.js';
import type { EnforceContext, ProxyRequest } from '../endpoint.js';
import { runEnforcer } from './enforce-http-errors.js';
import { InexpressiblePolicy } from '../../enforce/errors.js';

export type RequestTransform = (req: ProxyRequest, ctx: EnforceContext) => void | Promise<void>;

export interface LokiReadSpec {
  /** Parameters holding LogQL, every occurrence enforced. */
  readonly params: readonly string[];
  /** `query`: any LogQL; `selector`: a log selector (optionally with a pipeline), never a metric query. */
  readonly kind: 'query' | 'selector';
  /**
   * Add the policy's selector when the parameter is absent or empty. For labels, label values, series and
   * detected labels, Loki answers for the whole tenant when no selector is given.
   */
  readonly defaultToPolicy: boolean;
  /**
   * Loki ORs the parameter's occurrences (the series API's `match[]`): under a policy of several selectors each
   * occurrence becomes one per selector, exactly their union. Otherwise such a policy is refused (403).
   */
  readonly ored?: boolean;
}

/** Bound on a decompressed push body (gzip, deflate, snappy). */
export const DEFAULT_MAX_DECODED_PUSH_BYTES = 64 * 1024 * 1024;

/** A read endpoint's transform: enforce `spec.params`, then (optionally) add X-Prom-Label-Policy. */
export function createLokiReadTransform(spec: LokiReadSpec): RequestTransform {
  const enforce = spec.kind === 'query' ? enforceLogQuery : spec.ored === true ? enforceLogSelectors : enforceLogSelector;
  return async (req, ctx) => {
    delete req.headers['x-prom-label-policy'];
    const policy = ctx.policy;
    if (policy === undefined) return;
    // A Loki that enforces the header itself gets what the rewrite cannot express as sent, the header limiting it.
    const byHeader = <T>(value: T, rewrite: () => T): T => {
      try {
        return rewrite();
      } catch (error) {
        if (error instanceof InexpressiblePolicy && ctx.options.nativeLabelPolicyEnforced === true && ctx.options.nativeLabelPolicyHeader)
          return value;
        throw error;
      }
    };
    await runEnforcer(() =>
      rewriteRequestParams(req, {
        names: spec.params,
        rewrite: (value) =>
          byHeader<string | readonly string[]>(value, () => {
            // An empty selector (``, `{}`) asks for the whole tenant: it becomes the policy's selector.
            if (!spec.defaultToPolicy || !/^\s*(?:\{\s*\})?\s*$/.test(value)) return enforce(value, policy);
            return policy.fullAccess ? value : policySelectors(policy, spec.ored === true);
          }),
        whenMissing: () =>
          spec.defaultToPolicy && !policy.fullAccess
            ? byHeader<readonly (readonly [string, string])[] | undefined>(undefined, () =>
                policySelectors(policy, spec.ored === true).map((s) => [spec.params[0] ?? 'query', s] as const),
              )
            : undefined,
      }),
    );
    if (ctx.options.nativeLabelPolicyHeader && !policy.fullAccess) {
      req.headers['x-prom-label-policy'] = formatLabelPolicyHeader(policy, ctx.tenants);
    }
  };
}

/** The push transform: validate or inject the policy's labels on every stream (see enforce/write/loki-push). */
export function createLokiPushTransform(maxDecodedBytes = DEFAULT_MAX_DECODED_PUSH_BYTES): RequestTransform {
  return (req, ctx) => {
    delete req.headers['x-prom-label-policy'];
    const policy = ctx.policy;
    if (policy === undefined || policy.fullAccess) return;
    const out = runEnforcer(() =>
      enforceLokiPush(
        { body: req.body ?? Buffer.alloc(0), contentType: req.headers['content-type'], contentEncoding: req.headers['content-encoding'] },
        policy,
        { mode: ctx.options.injectLabelsOnWrite ? 'inject' : 'reject', maxDecodedBytes },
      ),
    );
    req.body = out.body;
    if (out.contentType === undefined) return; // full access: the request as received
    req.headers['content-type'] = out.contentType;
    delete req.headers['content-encoding'];
  };
}

/**
 * Loki's LBAC header (docs/sources/operations/lbac.md): `<tenant>:<URL-encoded selector>`, several values
 * comma-separated and ORed. Each of our policy's selectors (rules ANDed) is sent once per tenant.
 */
export function formatLabelPolicyHeader(policy: LimitedPolicy, tenants: readonly string[]): string {
  const selectors = policy.selectors.map((selector) => encodeURIComponent(formatSelector(selectorMatchers(selector))));
  return tenants.flatMap((tenant) => selectors.map((selector) => `${tenant}:${selector}`)).join(',');
}

/**
 * Stream selectors for the whole policy: one per policy selector where the parameter's occurrences are ORed,
 * else the only selector (a stream selector cannot OR: several selectors are refused).
 */
function policySelectors(policy: LimitedPolicy, ored: boolean): string[] {
  const selectors = ored ? policy.selectors : [onlySelector(policy, 'a LogQL selector for the whole tenant')];
  return selectors.map((selector) => formatSelector(selectorMatchers(selector)));
}
