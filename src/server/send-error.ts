import type { ServerResponse } from 'node:http';
import { HttpError } from '../core/http-errors.js';
import { usesPrometheusErrorBody } from '../routing/presets/index.js';
import type { RequestContext } from './request-context.js';

// Prometheus API error types (web/api/v1/api.go), so Grafana shows our errors as it shows Prometheus' own.
function prometheusErrorType(status: number): string {
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'bad_data';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  // Mimir's query-frontend answers its own limits with this type (apierror.TypeTooManyRequests).
  if (status === 429) return 'too_many_requests';
  if (status === 503) return 'unavailable';
  if (status === 504) return 'timeout';
  if (status === 502) return 'execution';
  if (status === 500) return 'internal';
  // Any other refusal of the client's request (405, 501 and 505 framing refusals): the request is at fault.
  return 'bad_data';
}

/**
 * The only place errors become responses. HttpErrors answer with their status, code and message (never a
 * secret: messages are written for the client). Anything else is a 500 whose message stays in the log.
 */
export function sendError(res: ServerResponse, error: unknown, ctx: RequestContext): void {
  const httpError = error instanceof HttpError ? error : undefined;
  const status = httpError?.status ?? 500;
  const code = httpError?.code ?? 'internal_error';
  const message = httpError?.message ?? 'internal error';
  ctx.errorCode = code;
  if (httpError?.decidedBy !== undefined) ctx.authenticator ??= httpError.decidedBy;
  if (httpError?.refusedSubject !== undefined) ctx.subject ??= httpError.refusedSubject;
  if (!httpError) ctx.log.error({ err: error, requestId: ctx.id }, 'unhandled error');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = usesPrometheusErrorBody(ctx.path)
    ? { status: 'error', errorType: prometheusErrorType(status), error: message, code }
    : { status: 'error', code, error: message };
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    ...httpError?.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': ctx.id,
  });
  res.end(body);
}
