import type { PromQLEnforcer } from '../enforce/promql/rewrite-cache.js';
import type { Identity, Scope } from '../identity/identity.js';
import type { LabelPolicy } from '../policy/label-policy.js';

/**
 * The request as it will leave for the upstream. Endpoint transforms rewrite it in place; the forwarder
 * sends exactly this (so what the upstream evaluates is exactly what was checked).
 */
export interface ProxyRequest {
  method: string;
  /** Normalised, percent-decoded path as routed (after the upstream's `path_prefix` was stripped). */
  path: string;
  /** Query string without the leading `?`, as it will be sent. */
  query: string;
  /** Outgoing headers, lower-case names. Hop-by-hop and client authority headers are already gone. */
  headers: Record<string, string>;
  /** The whole request body, present only for endpoints with `bufferBody: true` (bounded by config). */
  body: Buffer | undefined;
}

/** Per-upstream switches an endpoint's transform may consult. */
export interface UpstreamPolicyOptions {
  /** Label used for lfgw/namespace-style policies and for push injection (default `namespace`). */
  readonly policyLabel: string;
  /** Push/remote-write: add missing policy labels instead of refusing the series (only single-literal rules). */
  readonly injectLabelsOnWrite: boolean;
  /** Send the policy as X-Prom-Label-Policy too (Mimir/Loki that enforce it). */
  readonly nativeLabelPolicyHeader: boolean;
  /**
   * The upstream enforces that header itself (config `native_label_policy_enforced`, only with the header): a
   * request that cannot be rewritten exactly for a policy of several selectors goes as written, the header
   * limiting it, instead of being refused. Absent: false.
   */
  readonly nativeLabelPolicyEnforced?: boolean;
  /** PromQL rewrites for this upstream, with its own bounded cache; absent: computed on every call. */
  readonly promql?: PromQLEnforcer;
}

export interface EnforceContext {
  readonly identity: Identity;
  /** The policy to enforce; `undefined` only reaches transforms of endpoints without `requiresPolicy`. */
  readonly policy: LabelPolicy | undefined;
  /** The tenants that will be sent as X-Scope-OrgID. */
  readonly tenants: readonly string[];
  readonly options: UpstreamPolicyOptions;
}

/** A GET on the same upstream (tenant header set), for decisions that depend on upstream state. */
export type UpstreamLookup = (pathAndQuery: string) => Promise<{ readonly status: number; readonly body: Buffer }>;

/**
 * One endpoint of a backend API: a row in a preset table (routing/presets/*.ts).
 * The pipeline matches method + path, checks `scope`, then calls `transformRequest`.
 */
export interface Endpoint {
  /** Bounded name for metrics and logs, e.g. `prometheus.query_range`. */
  readonly name: string;
  /** Upper-case methods; a path match with another method is 405. */
  readonly methods: readonly string[];
  /** Exact path, or a RegExp tested against the whole normalised path. */
  readonly path: string | RegExp;
  readonly scope: Scope;
  /** Which component upstream serves it (mimir/loki/tempo presets); undefined = the upstream itself. */
  readonly component?: string;
  /** Deny (403) identities without a label policy (implicit deny). */
  readonly requiresPolicy?: boolean;
  /**
   * The endpoint cannot be limited to a label policy: it shows or changes the whole tenant (status, metadata,
   * rule changes, tag lists), or nothing here enforces a policy (raw). Identities limited by one are refused
   * `403 full_access_required` by the pipeline's authorisation step, so a policy is never silently dropped;
   * identities without a policy or with full access pass. On a preset with `unenforcedPolicyOptOut` (raw) the
   * upstream may let limited identities through anyway with `allow_unenforced_policy`.
   */
  readonly fullAccessOnly?: boolean;
  /** Read the whole request body into `ProxyRequest.body` before `transformRequest`. */
  readonly bufferBody?: boolean;
  /** A WebSocket upgrade (Loki tail): the transform runs on the query, then the socket is tunnelled. */
  readonly websocket?: boolean;
  /** Enforce the policy on the outgoing request; throw an HttpError to refuse it. */
  readonly transformRequest?: (req: ProxyRequest, ctx: EnforceContext) => void | Promise<void>;
  /**
   * Decide with what the upstream holds, after `transformRequest` (e.g. whose silence is being deleted).
   * Throw an HttpError to refuse; the request is only sent when this resolves.
   */
  readonly authorizeWithUpstream?: (req: ProxyRequest, ctx: EnforceContext, lookup: UpstreamLookup) => Promise<void>;
  /**
   * Rewrite a buffered successful (2xx) response body. Applied only for identities with a limited policy:
   * full access and tenant-wide identities get the upstream's response streamed as it is. E.g. rules and
   * alerts filtered to the policy.
   */
  readonly filterResponse?: (body: Buffer, ctx: EnforceContext) => Buffer;
}

/** A backend API: the endpoint table of one upstream `type`. Unknown paths are 404, never forwarded. */
export interface Preset {
  readonly type: string;
  readonly endpoints: readonly Endpoint[];
  /** Components this preset routes to (e.g. distributor, query-frontend); empty for single-address APIs. */
  readonly components: readonly string[];
  /** Write endpoints are open unless the upstream sets `allow_write = false` (true for ingesting backends). */
  readonly writesByDefault: boolean;
  /** The upstream may opt out of refusing limited identities on `fullAccessOnly` rows (raw's `allow_unenforced_policy`). */
  readonly unenforcedPolicyOptOut?: boolean;
  /**
   * Which paths answer errors in the Prometheus API's body (`status`, `errorType`, `error`), so Grafana shows
   * them as its own. Decided by path alone: a 401 comes before the upstream and route are known.
   * `containing`: paths that contain one of these (the Prometheus HTTP API under any prefix);
   * `notUnder`: paths under one of these prefixes keep the gateway's body even if they contain one.
   */
  readonly prometheusErrorPaths?: { readonly containing?: readonly string[]; readonly notUnder?: readonly string[] };
}
