import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EnforceContext, Endpoint, ProxyRequest } from '../routing/endpoint.js';
import { isLimitedPolicy } from '../policy/label-policy.js';
import { forwardRequest } from '../upstream/forward.js';
import { ForwardError } from '../upstream/upstream-errors.js';
import { buildOutgoingRequest } from '../upstream/outgoing-request.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
import { hasRequestBody } from './request-body.js';
import type { QueryMeter } from './query-meter.js';
import type { PlainRequestContext } from './request-context.js';
import { upstreamFault, type UpstreamFaultDeps } from './upstream-fault.js';

/** The request as it stands after authentication, routing and enforcement: ready to send. */
export interface EnforcedRequest {
  readonly upstream: UpstreamTarget;
  readonly endpoint: Endpoint;
  readonly request: ProxyRequest;
  readonly enforce: EnforceContext;
  /** A costed query's meter, when query cost accounting is on (query-meter.ts). */
  readonly meter?: QueryMeter | undefined;
}

/** What sending needs from the app. */
export interface SendDeps extends UpstreamFaultDeps {
  readonly maxFilterBytes: number;
}

/**
 * Builds the outgoing request (upstream/outgoing-request.ts), sets the body and its length, and streams the
 * exchange through the component's pool, whose interceptor signs it last when the upstream signs. `done`
 * runs once the response is sent (no argument) or failed before anything was sent (the error to answer).
 */
export function sendUpstream(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: PlainRequestContext,
  prepared: EnforcedRequest,
  deps: SendDeps,
  done: (error?: unknown) => void,
): void {
  const { upstream, endpoint, request, enforce } = prepared;
  const destination = upstream.destination(endpoint.component);
  const pathAndQuery = buildOutgoingRequest(upstream, destination, request, enforce.tenants, req, ctx);
  const headers = request.headers;
  // A response the gateway filters must arrive uncompressed (RFC 9110 §12.5.3).
  const filterResponse = endpoint.filterResponse && isLimitedPolicy(enforce.policy) ? endpoint.filterResponse : undefined;
  const meter = prepared.meter;
  // So is one whose statistics the gateway reads from the body.
  if (filterResponse || meter?.report?.body !== undefined) headers['accept-encoding'] = 'identity';

  let body: Buffer | IncomingMessage | undefined;
  if (request.body !== undefined) {
    body = request.body;
    headers['content-length'] = String(request.body.length);
  } else if (hasRequestBody(req) && !endpoint.bufferBody) {
    body = req;
  } else {
    delete headers['content-length'];
  }

  forwardRequest(
    {
      dispatcher: endpoint.scope === 'read' ? destination.readDispatcher : destination.dispatcher,
      method: request.method,
      pathAndQuery,
      headers,
      body,
      timeoutMs: upstream.timeoutMs,
      res,
      requestId: ctx.id,
      onClientGone: (listener) => ctx.onClientGone(listener),
      ...(filterResponse ? { filterResponse: (data: Buffer) => filterResponse(data, enforce) } : {}),
      maxFilterBytes: deps.maxFilterBytes,
      ...(meter ? { costReading: meter } : {}),
    },
    (error) => done(error instanceof ForwardError ? upstreamFault(error.kind, upstream.name, error.cause, ctx, deps) : error),
  );
}
