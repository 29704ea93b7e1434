import { hash } from 'node:crypto';
import { ServiceUnavailable } from '../core/http-errors.js';
import type { Identity } from '../identity/identity.js';
import type {
  DecisionIdentity,
  DecisionPolicy,
  DecisionQuery,
  DecisionRecord,
  DecisionSink,
} from '../observability/decision-log/record.js';
import { describePolicy, type LabelPolicy } from '../policy/label-policy.js';
import type { RequestContext } from './request-context.js';

/** What the decision log needs on the request path; absent (undefined) when the log is off, which costs nothing. */
export interface DecisionRecorder {
  /** One record for a request that ended with `status`. */
  record(ctx: RequestContext, method: string, status: number, responseBytes: number | undefined): void;
  /** `fail_closed`: throws 503 `decision_log_unavailable` while the sink cannot take a record. */
  readonly check: (() => void) | undefined;
}

export interface DecisionRecorderOptions {
  /** `text`: the queries as they are; `sha256`: their digests only; `none`: left out. */
  readonly queries: 'text' | 'sha256' | 'none';
  /** Refuse requests while the sink cannot take a record, instead of dropping records. */
  readonly failClosed: boolean;
  readonly now: () => number;
}

export function createDecisionRecorder(sink: DecisionSink, options: DecisionRecorderOptions): DecisionRecorder {
  // What a record says of an identity and its policy, built once per identity object (a token entry's identity is
  // one object for all its requests) and frozen, so the log's serialiser writes its text once too.
  // The text of each policy, once per policy object too (identities built per token, as JWTs', share their policy).
  const described = new WeakMap<Identity, DescribedIdentity>();
  const policyTexts = new WeakMap<LabelPolicy, string>();
  const policyText = (policy: LabelPolicy | undefined): string => {
    if (policy === undefined) return 'none';
    let text = policyTexts.get(policy);
    if (text === undefined) {
      text = describePolicy(policy);
      policyTexts.set(policy, text);
    }
    return text;
  };
  const describe = (identity: Identity): DescribedIdentity => {
    let found = described.get(identity);
    if (found === undefined) {
      found = describeIdentity(identity, policyText);
      described.set(identity, found);
    }
    return found;
  };
  const part = cachedQueryPart(queryPart(options.queries === 'sha256' ? 'sha256' : 'text'));
  // The time's text, once per millisecond.
  let lastMs = Number.NaN;
  let lastTime = '';
  const time = (): string => {
    const ms = options.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastTime = new Date(ms).toISOString();
    }
    return lastTime;
  };
  return {
    record(ctx, method, status, responseBytes) {
      sink.write(buildDecisionRecord(ctx, method, status, responseBytes, options, describe, time, part));
    },
    check: options.failClosed
      ? () => {
          if (!sink.accepting())
            throw new ServiceUnavailable(
              'decision_log_unavailable',
              'the decision log cannot record this request, and it is configured to fail closed',
            );
        }
      : undefined,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The identity and policy parts of a record, frozen: the same for every request of one identity. */
export interface DescribedIdentity {
  readonly identity: DecisionIdentity;
  readonly policy: DecisionPolicy;
}

export function describeIdentity(
  identity: Identity,
  policyText: (policy: LabelPolicy | undefined) => string = describePolicy,
): DescribedIdentity {
  const described: Mutable<DecisionIdentity> = {
    authenticator: identity.authenticator,
    subject: identity.subject,
    tenants: identity.tenants,
    scopes: Object.freeze([...identity.scopes]),
  };
  if (identity.roles !== undefined) described.roles = identity.roles;
  if (identity.grafana !== undefined) described.teams = identity.grafana.teams;
  const policy = { text: policyText(identity.policy), source: policySource(identity) };
  return Object.freeze({ identity: Object.freeze(described), policy: Object.freeze(policy) });
}

/**
 * The record of a request that ended with `status`. One object literal with every field, in the order the log
 * writes them (serialize.ts), `undefined` where absent (JSON leaves those out): every record has one shape and is
 * one allocation, where fields added one by one grew each record's property store. It is built per request.
 */
export function buildDecisionRecord(
  ctx: RequestContext,
  method: string,
  status: number,
  responseBytes: number | undefined,
  options: Pick<DecisionRecorderOptions, 'queries' | 'now'>,
  describe: (identity: Identity) => DescribedIdentity = (identity) => describeIdentity(identity),
  time: () => string = () => new Date(options.now()).toISOString(),
  part: QueryPart = queryPart(options.queries === 'sha256' ? 'sha256' : 'text'),
): DecisionRecord {
  const code = ctx.errorCode;
  // Sent upstream with no refusal: allowed, whatever the upstream answered. No code and nothing built: the client
  // left before a decision was reached.
  const decision = code !== undefined ? (status >= 500 ? 'error' : 'deny') : ctx.outgoing !== undefined ? 'allow' : 'error';
  const identity = ctx.identity;
  const described = identity !== undefined ? describe(identity) : undefined;
  const limitRules = ctx.limitRules;
  const refusedBy = ctx.limit;
  return {
    time: time(),
    requestId: ctx.id,
    traceId: ctx.trace.traceId,
    decision,
    status,
    method,
    durationMs: Math.round((performance.now() - ctx.startMs) * 1e3) / 1e3,
    code,
    path: ctx.path,
    identity: described?.identity,
    decidedBy: described === undefined ? ctx.authenticator : undefined,
    tenants: ctx.outgoing !== undefined ? tenantsSent(ctx.tenant, described) : undefined,
    upstream: ctx.upstream,
    endpoint: ctx.endpoint,
    policy: described?.policy,
    limits:
      limitRules === undefined && refusedBy === undefined
        ? undefined
        : refusedBy === undefined
          ? { rules: limitRules ?? [] }
          : { rules: limitRules ?? [], refusedBy },
    query: options.queries === 'none' ? undefined : describeQueries(ctx, options.queries, part, decision === 'allow'),
    // 499: the client left before the end; what the upstream answered is not known here.
    upstreamStatus: decision === 'allow' && status !== 499 ? status : undefined,
    responseBytes,
  };
}

/** The tenant header as sent, as a list: the identity's own (frozen) list when it is its one tenant. */
function tenantsSent(tenant: string | undefined, described: DescribedIdentity | undefined): readonly string[] | undefined {
  if (tenant === undefined) return undefined;
  const own = described?.identity.tenants;
  return own !== undefined && own.length === 1 && own[0] === tenant ? own : tenant.split('|');
}

/** Where an identity's policy came from, by the authenticator that built it (identity/providers.ts names them). */
function policySource(identity: Identity): string {
  switch (identity.authenticator) {
    case 'static-token':
      return 'token_entry';
    case 'basic':
      return 'users_file';
    case 'fixed-tenant':
      return 'fixed_tenant';
    case 'grafana':
      // A Grafana user's policy is the union of its mapped teams' grants; a listed service account has its own.
      return identity.subject.startsWith('grafana:service-account:') ? 'grafana_service_account' : 'grafana_teams';
    default:
      // JWT providers: the ACL maps roles to the policy when the token carries roles; else the claims hold it.
      return identity.roles !== undefined && identity.roles.length > 0 ? 'acl_roles' : 'token_claims';
  }
}

/**
 * The row's query parameters (`Endpoint.query.params`), before and after enforcement; `after` only for a request
 * that was sent: a refused one may have been refused half-way through enforcement.
 */
function describeQueries(ctx: RequestContext, mode: 'text' | 'sha256', part: QueryPart, sent: boolean): DecisionQuery | undefined {
  const names = ctx.queryParams;
  if (ctx.receivedQuery === undefined || names === undefined || names.length === 0) return undefined;
  const outgoing = ctx.outgoing;
  const isForm =
    outgoing !== undefined && (outgoing.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
  const before = part(names, ctx.receivedQuery, isForm ? ctx.receivedBody : undefined);
  if (before === undefined) return undefined;
  const after = outgoing === undefined || !sent ? undefined : part(names, outgoing.query, isForm ? outgoing.body : undefined);
  if (mode === 'text') return after === undefined ? { before } : { before, after };
  return after === undefined ? { beforeSha256: before } : { beforeSha256: before, afterSha256: after };
}

/** What a record says of a query string and form body: the row's parameters as text, or that text's SHA-256. */
export type QueryPart = (names: readonly string[], query: string, body: Buffer | undefined) => string | undefined;

export function queryPart(mode: 'text' | 'sha256'): QueryPart {
  return (names, query, body) => {
    const text = queryText(names, query, body);
    return text === undefined || mode === 'text' ? text : sha256(text);
  };
}

/** Query strings longer than this are not remembered (what the cache holds stays small). */
const CACHED_QUERY_CHARS = 2048;

/**
 * `part`, remembered per row and query string for requests without a form body: dashboards send the same
 * queries again and again, and decoding them (`decodeURIComponent`) was the largest part of a record with its
 * queries (docs/decisions.md, "Cost"). At most `maxEntries` per row; a full map starts again.
 */
export function cachedQueryPart(part: QueryPart, maxEntries = 512): QueryPart {
  const byRow = new WeakMap<readonly string[], Map<string, string>>();
  return (names, query, body) => {
    if ((body !== undefined && body.length > 0) || query.length > CACHED_QUERY_CHARS) return part(names, query, body);
    let known = byRow.get(names);
    if (known === undefined) {
      known = new Map();
      byRow.set(names, known);
    }
    // '' stands for "none" (a text or digest is never empty).
    const hit = known.get(query);
    if (hit !== undefined) return hit === '' ? undefined : hit;
    const value = part(names, query, undefined);
    if (known.size >= maxEntries) known.clear();
    known.set(query, value ?? '');
    return value;
  };
}

/** The parameters `names` of a URL query and a form body (first, as Go reads them), one `name=value` a line; undefined when none. */
function queryText(names: readonly string[], query: string, body: Buffer | undefined): string | undefined {
  let text = body !== undefined && body.length > 0 ? collectParams(names, body.toString('utf8'), '') : '';
  if (query !== '') text = collectParams(names, query, text);
  return text === '' ? undefined : text;
}

/**
 * Appends each `name=value` of `encoded` whose name is one of `names`, decoded as the upstream decodes it (a key
 * with an escape, `%71uery` or `match%5B%5D`, too); the values of the other parameters are never decoded.
 */
function collectParams(names: readonly string[], encoded: string, text: string): string {
  let out = text;
  for (let start = 0; start < encoded.length; ) {
    let end = encoded.indexOf('&', start);
    if (end === -1) end = encoded.length;
    const eq = encoded.indexOf('=', start);
    const keyEnd = eq === -1 || eq > end ? end : eq;
    if (keyEnd > start) {
      const name = decodeFormValue(encoded.slice(start, keyEnd));
      if (names.includes(name)) {
        const value = keyEnd === end ? '' : decodeFormValue(encoded.slice(keyEnd + 1, end));
        out += `${out === '' ? '' : '\n'}${name}=${value}`;
      }
    }
    start = end + 1;
  }
  return out;
}

/** application/x-www-form-urlencoded: `+` is a space; a malformed escape is kept as written. */
function decodeFormValue(value: string): string {
  const spaced = value.includes('+') ? value.replaceAll('+', ' ') : value;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}
