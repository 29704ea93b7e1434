import type { HttpError } from '../core/http-errors.js';
import { toUpstreamHttpError, type UpstreamErrorKind } from '../upstream/upstream-errors.js';
import type { RequestContext } from './request-context.js';

export interface UpstreamFaultDeps {
  /** Counts an upstream fault (scopegate_upstream_errors_total). */
  readonly onUpstreamError: (upstream: string, kind: string) => void;
}

/**
 * An upstream that failed a request, a WebSocket upgrade or a lookup: counted and logged (unless the client
 * went away first: the access log records that as 499, the upstream is not at fault), then answered 502/504
 * by the one table in upstream-errors.ts.
 */
export function upstreamFault(
  kind: UpstreamErrorKind,
  upstream: string,
  cause: unknown,
  ctx: RequestContext,
  deps: UpstreamFaultDeps,
): HttpError {
  if (kind !== 'aborted') {
    deps.onUpstreamError(upstream, kind);
    ctx.log.warn({ requestId: ctx.id, upstream, kind, err: cause }, 'upstream error');
  }
  return toUpstreamHttpError(kind, upstream);
}
