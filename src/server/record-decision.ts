import { hash } from 'node:crypto';
import { ServiceUnavailable } from '../core/http-errors.js';
import type { Identity } from '../identity/identity.js';
import type { DecisionPolicy, DecisionQuery, DecisionRecord, DecisionSink } from '../observability/decision-log/record.js';
import { describePolicy } from '../policy/label-policy.js';
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

/** The parameters that hold a query in the APIs the gateway enforces (PromQL, LogQL, series matchers, TraceQL). */
const QUERY_PARAMS = new Set(['query', 'match[]', 'q']);

export function createDecisionRecorder(sink: DecisionSink, options: DecisionRecorderOptions): DecisionRecorder {
  return {
    record(ctx, method, status, responseBytes) {
      sink.write(buildDecisionRecord(ctx, method, status, responseBytes, options));
    },
    check: options.failClosed
      ? () => {
          if (!sink.accepting()) throw new ServiceUnavailable('decision_log_unavailable', 'the decision log cannot record this request, and it is configured to fail closed');
        }
      : undefined,
  };
}

export function buildDecisionRecord(
  ctx: RequestContext,
  method: string,
  status: number,
  responseBytes: number | undefined,
  options: Pick<DecisionRecorderOptions, 'queries' | 'now'>,
): DecisionRecord {
  const code = ctx.errorCode;
  const decision = code === undefined && status < 500 ? 'allow' : status >= 500 ? 'error' : 'deny';
  const identity = ctx.identity;
  const query = options.queries === 'none' ? undefined : describeQueries(ctx, options.queries);
  const limits = ctx.limitRules !== undefined || ctx.limit !== undefined
    ? { rules: ctx.limitRules ?? [], ...(ctx.limit !== undefined ? { refusedBy: ctx.limit } : {}) }
    : undefined;
  const record: DecisionRecord = {
    time: new Date(options.now()).toISOString(),
    requestId: ctx.id,
    traceId: ctx.trace.traceId,
    decision,
    ...(code !== undefined ? { code } : {}),
    status,
    method,
    ...(ctx.path !== undefined ? { path: ctx.path } : {}),
    ...(identity !== undefined
      ? {
          identity: {
            authenticator: identity.authenticator,
            subject: identity.subject,
            tenants: identity.tenants,
            ...(identity.roles !== undefined ? { roles: identity.roles } : {}),
            scopes: [...identity.scopes],
          },
        }
      : ctx.authenticator !== undefined ? { decidedBy: ctx.authenticator } : {}),
    ...(ctx.tenant !== undefined && ctx.outgoing !== undefined ? { tenants: ctx.tenant.split('|') } : {}),
    ...(ctx.upstream !== undefined ? { upstream: ctx.upstream } : {}),
    ...(ctx.endpoint !== undefined ? { endpoint: ctx.endpoint } : {}),
    ...(identity !== undefined ? { policy: describePolicySource(identity) } : {}),
    ...(limits !== undefined ? { limits } : {}),
    ...(query !== undefined ? { query } : {}),
    ...(decision === 'allow' && ctx.outgoing !== undefined ? { upstreamStatus: status } : {}),
    ...(responseBytes !== undefined ? { responseBytes } : {}),
    durationMs: Math.round((performance.now() - ctx.startMs) * 1e3) / 1e3,
  };
  return record;
}

/** Where an identity's policy came from, by the authenticator that built it (identity/providers.ts names them). */
function describePolicySource(identity: Identity): DecisionPolicy {
  const text = describePolicy(identity.policy);
  switch (identity.authenticator) {
    case 'static-token':
      return { text, source: 'token_entry' };
    case 'basic':
      return { text, source: 'users_file' };
    case 'fixed-tenant':
      return { text, source: 'fixed_tenant' };
    default:
      // JWT providers: the ACL maps roles to the policy when the token carries roles; else the claims hold it.
      return { text, source: identity.roles !== undefined && identity.roles.length > 0 ? 'acl_roles' : 'token_claims' };
  }
}

function describeQueries(ctx: RequestContext, mode: 'text' | 'sha256'): DecisionQuery | undefined {
  if (ctx.receivedQuery === undefined) return undefined;
  const outgoing = ctx.outgoing;
  const isForm = outgoing !== undefined && (outgoing.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
  const before = queryText(ctx.receivedQuery, isForm ? ctx.receivedBody : undefined);
  if (before === undefined) return undefined;
  const after = outgoing === undefined ? undefined : queryText(outgoing.query, isForm ? outgoing.body : undefined);
  if (mode === 'text') return after === undefined ? { before } : { before, after };
  return after === undefined ? { beforeSha256: sha256(before) } : { beforeSha256: sha256(before), afterSha256: sha256(after) };
}

/** The query parameters of a URL query and a form body, one `name=value` a line; undefined when there is none. */
function queryText(query: string, body: Buffer | undefined): string | undefined {
  const lines: string[] = [];
  const collect = (params: URLSearchParams) => {
    for (const [name, value] of params) if (QUERY_PARAMS.has(name)) lines.push(`${name}=${value}`);
  };
  if (body !== undefined && body.length > 0) collect(new URLSearchParams(body.toString('utf8')));
  if (query !== '') collect(new URLSearchParams(query));
  return lines.length === 0 ? undefined : lines.join('\n');
}

function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}
