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

/** The language of an endpoint's query parameters. */
export type QueryDialect = 'promql' | 'metricsql' | 'logql' | 'traceql';

/**
 * What a query endpoint evaluates: one instant, a range of steps, a series or label lookup (series, labels,
 * label values, tags, federation, rules), or a search (Tempo's traces and span summaries).
 */
export type QueryKind = 'instant' | 'range' | 'series' | 'search';

/**
 * How an API reads its times (`start`, `end`, `time`):
 * - `unix-or-rfc3339`: float Unix seconds or RFC 3339 (Prometheus' `parseTime`);
 * - `unix-nanos-or-rfc3339`: with a dot, float seconds; an integer of at most 10 digits, seconds, a longer one
 *   nanoseconds; else RFC 3339 (Loki's `parseTimestamp`, which Tempo's metrics API shares);
 * - `unix-integer`: integer Unix seconds, or nanoseconds when longer than 10 digits (Tempo search).
 * Steps are float seconds or a duration, and `since` a duration, everywhere.
 */
export type TimeFormat = 'unix-or-rfc3339' | 'unix-nanos-or-rfc3339' | 'unix-integer';

/** What a time parameter means to the API: `since` is a duration back from the end, `step` the resolution. */
export type TimeRole = 'start' | 'end' | 'since' | 'time' | 'step';

/** What an API reads over a span assumes for the times a request leaves out. */
export type SpanDefaults =
  /** None: without start, end and step the API refuses the request (Prometheus' query_range). */
  | { readonly kind: 'required' }
  /**
   * end = now; start = min(end, now) − since, `since` defaulting to `sinceMs`; without a step the API picks one
   * (Loki's and Tempo's `determineBounds`).
   */
  | { readonly kind: 'since'; readonly sinceMs: number }
  /** start and end both or neither; neither reads recent data only, counted as the last `spanMs` (Tempo search). */
  | { readonly kind: 'both-or-neither'; readonly spanMs: number };

/**
 * The time parameters an endpoint's API reads. The cost guards (limits/query-cost.ts) read exactly these: a
 * time the API reads and the row leaves out would be a way round them (Loki's `since` once was).
 */
export interface QueryTimes {
  readonly format: TimeFormat;
  /** Every time parameter the API reads, by role, each with its name there; a role left out is not read. */
  readonly params: Readonly<Partial<Record<TimeRole, string>>>;
  /** For an API that reads a span (start, end, since): its defaults. Absent for an instant's `time` (default now). */
  readonly span?: SpanDefaults;
}

/** The query an endpoint reads: the row's transform enforces these parameters, explain and the cost guards read them. */
export interface EndpointQuery {
  /** The parameters holding a query or selector; every occurrence counts. */
  readonly params: readonly string[];
  readonly dialect: QueryDialect;
  readonly kind: QueryKind;
  /** The times its API reads; absent on lookups (`series`), which no cost guard reads. */
  readonly times?: QueryTimes;
  /** Where its API reports what a query cost (query cost accounting, docs/query-cost.md); absent: it does not. */
  readonly reports?: CostReport;
}

/** What a backend says a query cost, read from its response; a figure it does not report is left out. */
export interface ReportedCost {
  /** Samples the engine loaded (Prometheus' `totalQueryableSamples`). */
  readonly samples?: number;
  /** Bytes the engine read (Loki's `totalBytesProcessed`). */
  readonly bytesProcessed?: number;
  /** Lines the engine read (Loki's `totalLinesProcessed`). */
  readonly linesProcessed?: number;
}

/**
 * How an API reports a query's cost: in its JSON answer, an object member (`"stats":{…}`) that comes after the
 * result, so it is found in the stream without holding the result; or in a response header. The gateway reads
 * it on the way through (upstream/cost-reading-handler.ts).
 */
export interface CostReport {
  /**
   * The parameter that asks for the statistics and the value sent when the caller did not ask (Prometheus'
   * `stats`): the gateway then adds it, and removes the member from the answer so the caller gets what it asked
   * for. Absent when the API always reports (Loki) or reports in a header (Mimir).
   */
  readonly askParam?: { readonly name: string; readonly value: string };
  /** The member's name (its value an object, the name used for no object before it) and how to read it. */
  readonly body?: { readonly member: string; readonly read: (stats: unknown) => ReportedCost };
  /** A response header (lower-case name) and how to read it. */
  readonly header?: { readonly name: string; readonly read: (value: string) => ReportedCost };
}

/** The body format of a write endpoint, for the write size guards (limits/write-series.ts). */
export type WriteFormat = 'prometheus-remote-write' | 'loki-push-request' | 'otlp-metrics' | 'otlp-traces';

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
  /** The query it reads (parameters, language, kind, times); absent on endpoints without one. */
  readonly query?: EndpointQuery;
  /** The body format of a write endpoint; absent on reads and on writes no guard decodes. */
  readonly writeFormat?: WriteFormat;
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
