import type { IncomingMessage } from 'node:http';
import { HttpError } from '../core/http-errors.js';
import type { UpstreamLookup } from '../routing/endpoint.js';
import { buildOutgoingRequest, type RequestOrigin } from './outgoing-request.js';
import { classifyUpstreamError, ForwardError } from './upstream-errors.js';
import type { UpstreamTarget } from './upstream-target.js';

const MAX_LOOKUP_BYTES = 4 * 1024 * 1024;

/**
 * A GET through the upstream's own pool, as the tenant, for `Endpoint.authorizeWithUpstream`: built by the
 * same `buildOutgoingRequest` as the client's request (and signed by the pool's interceptor when the upstream
 * signs). The path is a plain path (encoded here), optionally with a query. Faults surface as ForwardError,
 * mapped to 502/504 by the caller; the gateway's own refusals (no credentials to sign) as their HttpError.
 */
export function createUpstreamLookup(
  upstream: UpstreamTarget,
  component: string | undefined,
  tenants: readonly string[],
  client: IncomingMessage,
  origin: RequestOrigin & { readonly signal: AbortSignal },
): UpstreamLookup {
  const destination = upstream.destination(component);
  return async (pathAndQuery) => {
    const mark = pathAndQuery.indexOf('?');
    const request = {
      path: mark === -1 ? pathAndQuery : pathAndQuery.slice(0, mark),
      query: mark === -1 ? '' : pathAndQuery.slice(mark + 1),
      headers: { 'accept-encoding': 'identity' } as Record<string, string>,
    };
    const path = buildOutgoingRequest(upstream, destination, request, tenants, client, origin);
    try {
      const response = await destination.dispatcher.request({
        method: 'GET',
        path,
        headers: request.headers,
        headersTimeout: upstream.timeoutMs,
        bodyTimeout: upstream.timeoutMs,
        signal: origin.signal,
      });
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of response.body) {
        total += (chunk as Buffer).length;
        if (total > MAX_LOOKUP_BYTES) throw new ForwardError('protocol', new Error('lookup response too large'));
        chunks.push(chunk as Buffer);
      }
      return { status: response.statusCode, body: Buffer.concat(chunks) };
    } catch (error) {
      if (error instanceof ForwardError || error instanceof HttpError) throw error;
      throw new ForwardError(classifyUpstreamError(error), error);
    }
  };
}
