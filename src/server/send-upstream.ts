import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLimitedPolicy } from '../policy/label-policy.js';
import { encodePath } from '../routing/request-path.js';
import { ForwardError, forwardRequest } from '../upstream/forward.js';
import { toUpstreamHttpError } from '../upstream/upstream-errors.js';
import { hasRequestBody } from './request-body.js';
import type { PipelineDeps, PreparedRequest } from './pipeline.js';
import type { RequestContext } from './request-context.js';

/**
 * Sets what the upstream must see (tenant, X-Forwarded-*, body length), signs last so the signature covers
 * the final bytes, and streams the exchange through the component's pool.
 */
export async function sendUpstream(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  prepared: PreparedRequest,
  deps: Pick<PipelineDeps, 'maxFilterBytes' | 'onUpstreamError'>,
): Promise<void> {
  const { upstream, endpoint, request, enforce } = prepared;
  const destination = upstream.destination(endpoint.component);
  const headers = request.headers;
  headers[upstream.tenantHeader] = enforce.tenants.join('|');
  setForwardedHeaders(headers, req, ctx.id);
  headers.traceparent = ctx.trace.traceparent;
  // A response the gateway filters must arrive uncompressed (RFC 9110 §12.5.3).
  const filterResponse = endpoint.filterResponse && isLimitedPolicy(enforce.policy) ? endpoint.filterResponse : undefined;
  if (filterResponse) headers['accept-encoding'] = 'identity';

  let body: Buffer | IncomingMessage | undefined;
  if (request.body !== undefined) {
    body = request.body;
    headers['content-length'] = String(request.body.length);
  } else if (hasRequestBody(req) && !endpoint.bufferBody) {
    body = req;
  } else {
    delete headers['content-length'];
  }

  let pathAndQuery = `${destination.basePath}${encodePath(request.path)}${request.query ? `?${request.query}` : ''}`;
  let outgoing = headers;
  if (upstream.signer) {
    // Last step before sending: the signature covers the final URL, headers and bytes.
    const signed = await upstream.signer.sign({
      method: request.method,
      url: new URL(pathAndQuery, destination.url.origin),
      headers,
      body: Buffer.isBuffer(body) ? body : body === undefined ? undefined : 'streamed',
    });
    pathAndQuery = `${signed.url.pathname}${signed.url.search}`;
    outgoing = signed.headers;
  }

  try {
    await forwardRequest({
      dispatcher: destination.dispatcher,
      method: request.method,
      pathAndQuery,
      headers: outgoing,
      body,
      timeoutMs: upstream.timeoutMs,
      res,
      ...(filterResponse ? { filterResponse: (data: Buffer) => filterResponse(data, enforce) } : {}),
      maxFilterBytes: deps.maxFilterBytes,
    });
  } catch (error) {
    if (!(error instanceof ForwardError)) throw error;
    // A client that went away is not an upstream fault: the access log records it (499), the metric does not.
    if (error.kind !== 'aborted') {
      deps.onUpstreamError(upstream.name, error.kind);
      ctx.log.warn({ requestId: ctx.id, upstream: upstream.name, kind: error.kind, err: error.cause }, 'upstream error');
    }
    throw toUpstreamHttpError(error.kind, upstream.name);
  }
}

/** X-Forwarded-For appends the peer to the client's chain; Proto and Host describe the client's request. */
function setForwardedHeaders(headers: Record<string, string>, req: IncomingMessage, requestId: string): void {
  const peer = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  const chain = Array.isArray(prior) ? prior.join(', ') : prior;
  headers['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer;
  headers['x-forwarded-proto'] = 'encrypted' in req.socket ? 'https' : 'http';
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  headers['x-request-id'] = requestId;
}
