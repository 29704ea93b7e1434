import type { UpstreamLookup } from '../routing/endpoint.js';
import { ForwardError } from './forward.js';
import { classifyUpstreamError } from './upstream-errors.js';
import type { UpstreamTarget } from './upstream-target.js';

const MAX_LOOKUP_BYTES = 4 * 1024 * 1024;

/**
 * A GET through the upstream's own pool, as the tenant, for `Endpoint.authorizeWithUpstream`. Signed like any
 * request when the upstream signs. Faults surface as ForwardError, mapped to 502/504 by the caller.
 */
export function createUpstreamLookup(
  upstream: UpstreamTarget,
  component: string | undefined,
  tenants: readonly string[],
  signal: AbortSignal,
): UpstreamLookup {
  const destination = upstream.destination(component);
  return async (pathAndQuery) => {
    let path = `${destination.basePath}${pathAndQuery}`;
    let headers: Record<string, string> = { [upstream.tenantHeader]: tenants.join('|'), 'accept-encoding': 'identity' };
    if (upstream.signer) {
      const signed = await upstream.signer.sign({ method: 'GET', url: new URL(path, destination.url.origin), headers, body: undefined });
      path = `${signed.url.pathname}${signed.url.search}`;
      headers = signed.headers;
    }
    try {
      const response = await destination.dispatcher.request({
        method: 'GET',
        path,
        headers,
        headersTimeout: upstream.timeoutMs,
        bodyTimeout: upstream.timeoutMs,
        signal,
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
      throw error instanceof ForwardError ? error : new ForwardError(classifyUpstreamError(error), error);
    }
  };
}
