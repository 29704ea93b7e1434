import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Credentials } from '../identity/authenticator.js';
import type { AuthenticatorChain } from '../identity/chain.js';
import { findCredentials } from '../identity/credentials.js';
import type { Identity } from '../identity/identity.js';
import { LimitRefusal } from '../limits/limit-errors.js';
import type { Admission, Limiter } from '../limits/limiter.js';
import { isLimitedPolicy } from '../policy/label-policy.js';
import { resolveTenants } from '../policy/tenants.js';
import type { EnforceContext, Endpoint, ProxyRequest } from '../routing/endpoint.js';
import { hostName, type HostRoute } from '../routing/host-routes.js';
import { parseRequestTarget } from '../routing/request-path.js';
import { ForwardError } from '../upstream/upstream-errors.js';
import { buildOutgoingHeaders, type HeaderPolicy } from '../upstream/headers.js';
import { createUpstreamLookup } from '../upstream/lookup.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
import { readRequestBody, hasRequestBody } from './request-body.js';
import { checkRequestFraming } from './request-framing.js';
import { BadRequest, Forbidden, NotFound } from '../core/http-errors.js';
import type { PlainRequestContext, RequestContext } from './request-context.js';
import { isPromise, runSteps, type MaybePromise, type Steps } from '../core/maybe-async.js';
import { upstreamFault } from './upstream-fault.js';
import { sendUpstream, type EnforcedRequest, type SendDeps } from './send-upstream.js';
import { meterQuery, type QueryMeter } from './query-meter.js';
import type { QueryCostAccounting } from '../observability/query-cost-accounting.js';

export interface PipelineDeps extends SendDeps {
  readonly findRoute: (host: string, path: string) => { route: HostRoute<UpstreamTarget>; path: string } | undefined;
  readonly chain: AuthenticatorChain;
  readonly tokenHeaders: readonly string[];
  readonly headerPolicy: HeaderPolicy;
  readonly maxBodyBytes: number;
  readonly limiter: Limiter;
  /** Query cost accounting, when `[query_cost]` is on. */
  readonly queryCost: QueryCostAccounting | undefined;
  /** The decision log's gate (`fail_closed`): throws 503 while the log cannot take records; absent when off. */
  readonly checkDecisionLog?: () => void;
}

/** The request ready to send, and what it holds until its response ends. */
export interface PreparedRequest extends EnforcedRequest {
  /** The limits this request holds (concurrency slots): released when the response ends. */
  readonly admission: Admission;
}

/**
 * One request, start to finish, in the order that is the architecture:
 * check the framing → normalise the target → find credentials → authenticate → route (host, then endpoint) → authorise the
 * endpoint → resolve tenants → limits (rate, concurrency) → build the outgoing request → enforce → limits
 * (query cost, write size, on what will be sent) → send and stream back.
 * Any step may throw an HttpError; `fail` gets it (the server's error handler), whether it was thrown at once
 * or after a wait. Steps wait only when they must (core/maybe-async.ts): a request with a static token, no
 * limit rule and nothing to read before forwarding goes from its headers to the upstream without a promise.
 */
export function runPipeline(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: PlainRequestContext,
  deps: PipelineDeps,
  fail: (error: unknown) => void,
): void {
  const send = (prepared: PreparedRequest) => {
    try {
      sendUpstream(req, res, ctx, prepared, deps, (error) => {
        if (error === undefined) prepared.meter?.finish();
        prepared.admission.release();
        if (error !== undefined) fail(error);
      });
    } catch (error) {
      prepared.admission.release();
      fail(error);
    }
  };
  try {
    const prepared = prepareRequest(req, ctx, deps);
    if (isPromise(prepared)) prepared.then(send, fail);
    else send(prepared);
  } catch (error) {
    fail(error);
  }
}

/** Every step before sending; shared by plain requests and WebSocket upgrades. */
export function prepareRequest(req: IncomingMessage, ctx: RequestContext, deps: PipelineDeps): MaybePromise<PreparedRequest> {
  return runSteps(prepareSteps(req, ctx, deps));
}

/** The steps in order; each `yield` is where the step may wait (core/maybe-async.ts `Steps`). */
function* prepareSteps(req: IncomingMessage, ctx: RequestContext, deps: PipelineDeps): Steps<PreparedRequest> {
  deps.checkDecisionLog?.();
  checkRequestFraming(req);
  const target = parseRequestTarget(req.url ?? '/');
  ctx.path = target.path;
  const credentials: Credentials = findCredentials(req.headers, req.headersDistinct, deps.tokenHeaders, req.socket);
  const identity = (yield deps.chain.authenticate(credentials)) as Identity;
  ctx.subject = identity.subject;
  ctx.authenticator = identity.authenticator;
  ctx.identity = identity;
  if (identity.grafana !== undefined) ctx.grafana = identity.grafana;
  // Until the tenant is resolved, a denial is counted under the identity's tenant when it holds exactly one;
  // one holding several is counted under none (which of them the client meant is not known yet).
  if (identity.tenants.length === 1) ctx.tenant = identity.tenants[0];

  const host = hostName(req.headers.host);
  if (host === undefined) throw new BadRequest('invalid_host', 'the Host header is not a host name');
  const found = deps.findRoute(host, target.path);
  // HTTP/1.0 may leave Host out (and HTTP/1.1 may send it empty): only a catch-all route serves that.
  if (!found && host === '')
    throw new BadRequest('missing_host', 'the request names no host (Host header missing or empty), and no catch-all route serves it');
  if (!found) throw new NotFound('no_upstream', 'no upstream is configured for this host');
  const upstream = found.route.target;
  ctx.upstream = upstream.name;
  const endpoint = upstream.table.match(req.method ?? 'GET', found.path);
  ctx.endpoint = endpoint.name;
  ctx.queryParams = endpoint.query?.params;
  authorizeEndpoint(identity, endpoint, upstream);

  const tenants = resolveTenants(identity, req.headersDistinct[upstream.tenantHeader], {
    allowFederation: upstream.allowFederation,
    isWrite: endpoint.scope === 'write',
  });
  ctx.tenant = tenants.join('|');

  // From here the request may hold limits: whatever fails, now or after a wait, gives them back.
  let admission: Admission | undefined;
  try {
    const length = req.headers['content-length'];
    admission = (yield deps.limiter.admit(
      { identity, tenants, upstream: upstream.name, endpoint },
      length === undefined ? undefined : Number(length),
    )) as Admission;
    ctx.limitRules = admission.ruleNames;
    const enforce: EnforceContext = { identity, policy: identity.policy, tenants, options: upstream.options };
    const built = yield* buildRequest(req, ctx, deps, { path: found.path, query: target.query }, upstream, endpoint, enforce);
    yield admission.check(built.request);
    // A WebSocket (Loki tail) counts against the rate only: its slots are not held for the life of the tunnel.
    if (endpoint.websocket) admission.release();
    const meter = (yield meterQuery(built, admission, identity, ctx.startMs, deps.queryCost)) as QueryMeter | undefined;
    return { ...built, admission, meter };
  } catch (error) {
    admission?.release();
    if (error instanceof LimitRefusal) ctx.limit = error.rule;
    throw error;
  }
}

/** The outgoing request, enforced: at once unless the body must be read first or the endpoint waits. */
function* buildRequest(
  req: IncomingMessage,
  ctx: RequestContext,
  deps: PipelineDeps,
  target: { readonly path: string; readonly query: string },
  upstream: UpstreamTarget,
  endpoint: Endpoint,
  enforce: EnforceContext,
): Steps<EnforcedRequest> {
  const request: ProxyRequest = {
    method: req.method ?? 'GET',
    path: target.path,
    query: target.query,
    headers: buildOutgoingHeaders(req.headers, deps.headerPolicy, upstream.forwardCredentials),
    body: undefined,
  };
  ctx.outgoing = request;
  ctx.receivedQuery = target.query;
  const needsBody = endpoint.bufferBody === true || upstream.signer?.requiresBufferedBody === true;
  if (needsBody && hasRequestBody(req)) {
    request.body = (yield readRequestBody(req, deps.maxBodyBytes)) as Buffer;
    ctx.receivedBody = request.body;
  }
  yield endpoint.transformRequest?.(request, enforce);
  const built: EnforcedRequest = { upstream, endpoint, request, enforce };
  if (endpoint.authorizeWithUpstream) yield authorizeWithUpstream(req, ctx, deps, built, endpoint.authorizeWithUpstream);
  return built;
}

/** The endpoint decides with what the upstream holds (`Endpoint.authorizeWithUpstream`). */
async function authorizeWithUpstream(
  req: IncomingMessage,
  ctx: RequestContext,
  deps: PipelineDeps,
  built: EnforcedRequest,
  authorize: NonNullable<Endpoint['authorizeWithUpstream']>,
): Promise<void> {
  const { upstream, endpoint, request, enforce } = built;
  const lookup = createUpstreamLookup(upstream, endpoint.component, enforce.tenants, req, ctx);
  try {
    await authorize(request, enforce, lookup);
  } catch (error) {
    if (!(error instanceof ForwardError)) throw error;
    throw upstreamFault(error.kind, upstream.name, error.cause, ctx, deps);
  }
}

/**
 * Scope and safe mode: admin endpoints need the identity's `admin` scope and the upstream's `allow_admin`;
 * writes need `write` and `allow_write`; endpoints that enforce labels deny identities without a policy.
 */
function authorizeEndpoint(identity: Identity, endpoint: Endpoint, upstream: UpstreamTarget): void {
  if (endpoint.scope === 'admin' && !upstream.allowAdmin) {
    throw new Forbidden('admin_endpoint_blocked', `${endpoint.name} is an admin endpoint and is blocked on this upstream`);
  }
  if (endpoint.scope === 'write' && !upstream.allowWrite) {
    throw new Forbidden('write_endpoint_blocked', `${endpoint.name} writes data and is blocked on this upstream`);
  }
  if (!identity.scopes.has(endpoint.scope)) {
    throw new Forbidden('scope_not_allowed', `this identity lacks the ${endpoint.scope} scope for ${endpoint.name}`);
  }
  if (endpoint.requiresPolicy && identity.policy === undefined) {
    throw new Forbidden('no_label_policy', 'this identity has no label policy for this upstream (implicit deny)');
  }
  // The one refusal of endpoints a label policy cannot narrow (Endpoint.fullAccessOnly).
  if (endpoint.fullAccessOnly && isLimitedPolicy(identity.policy) && !upstream.allowUnenforcedPolicy) {
    throw new Forbidden(
      'full_access_required',
      `${endpoint.name} cannot be limited to a label policy: it needs an identity with full access`,
    );
  }
}
