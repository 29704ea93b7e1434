import type { IncomingMessage } from 'node:http';
import type { ProxyRequest } from '../routing/endpoint.js';
import { encodePath } from '../routing/request-path.js';
import type { Destination, UpstreamTarget } from './upstream-target.js';

/** Who the outgoing request is made for: the gateway's request id and the trace it continues. */
export interface RequestOrigin {
  readonly id: string;
  readonly trace: { readonly traceparent: string };
}

/**
 * Builds the request as the upstream will see it, for every request that leaves the gateway — plain requests,
 * WebSocket upgrades and lookups alike: the tenant header, `X-Forwarded-*` describing the client's request,
 * `X-Request-Id` and `traceparent`, and the wire path under the upstream's base path. Sets the headers in
 * place (no copy on the hot path) and returns the path and query to send. Signing is not done here: it is the
 * interceptor on the upstream's pool (signing-interceptor.ts), which signs whatever leaves through it.
 */
export function buildOutgoingRequest(
  upstream: UpstreamTarget,
  destination: Destination,
  request: Pick<ProxyRequest, 'path' | 'query' | 'headers'>,
  tenants: readonly string[],
  client: IncomingMessage,
  origin: RequestOrigin,
): string {
  const headers = request.headers;
  headers[upstream.tenantHeader] = tenants.join('|');
  setForwardedHeaders(headers, client);
  headers['x-request-id'] = origin.id;
  headers.traceparent = origin.trace.traceparent;
  return `${destination.basePath}${encodePath(request.path)}${request.query ? `?${request.query}` : ''}`;
}

/** X-Forwarded-For appends the peer to the client's chain; Proto and Host describe the client's request. */
function setForwardedHeaders(headers: Record<string, string>, client: IncomingMessage): void {
  const peer = client.socket.remoteAddress ?? '';
  const prior = client.headers['x-forwarded-for'];
  const chain = Array.isArray(prior) ? prior.join(', ') : prior;
  headers['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer;
  headers['x-forwarded-proto'] = 'encrypted' in client.socket ? 'https' : 'http';
  if (client.headers.host) headers['x-forwarded-host'] = client.headers.host;
}
