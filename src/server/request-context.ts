import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RequestTrace, RequestTracer } from '../observability/tracing.js';

/** What one request carries through the pipeline, and what its access-log line reports. */
export interface RequestContext {
  readonly id: string;
  readonly startNs: bigint;
  readonly log: Logger;
  /** W3C trace context: the trace id for the access log, the traceparent for the upstream, the span to end. */
  readonly trace: RequestTrace;
  /** Fires when the client goes away before the response is complete. */
  readonly signal: AbortSignal;
  subject?: string;
  authenticator?: string;
  tenant?: string;
  upstream?: string;
  endpoint?: string;
  errorCode?: string;
  /** The `[[limits.rules]]` entry that refused the request. */
  limit?: string;
  /** The path as routed, for Prometheus-style error bodies and the access log. */
  path?: string;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * One class, every field set in the constructor, so all contexts share one V8 shape. The AbortSignal is
 * made on first use: an AbortController and its listener cost more per request than the rest of the
 * context, and the proxy path watches `res` itself (forward.ts), so most requests never need one.
 */
class HttpRequestContext implements RequestContext {
  readonly id: string;
  readonly startNs: bigint;
  readonly log: Logger;
  readonly trace: RequestTrace;
  subject: string | undefined = undefined;
  authenticator: string | undefined = undefined;
  tenant: string | undefined = undefined;
  upstream: string | undefined = undefined;
  endpoint: string | undefined = undefined;
  errorCode: string | undefined = undefined;
  limit: string | undefined = undefined;
  path: string | undefined = undefined;
  readonly #res: ServerResponse;
  #controller: AbortController | undefined = undefined;

  constructor(id: string, log: Logger, res: ServerResponse, trace: RequestTrace) {
    this.id = id;
    this.startNs = process.hrtime.bigint();
    this.log = log;
    this.trace = trace;
    this.#res = res;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      const res = this.#res;
      const abortIfUnfinished = () => {
        if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
      };
      if (res.closed) abortIfUnfinished();
      else res.once('close', abortIfUnfinished);
      this.#controller = controller;
    }
    return this.#controller.signal;
  }
}

export function createRequestContext(req: IncomingMessage, res: ServerResponse, log: Logger, tracer: RequestTracer): RequestContext {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
  const traceparent = req.headers.traceparent;
  return new HttpRequestContext(id, log, res, tracer.start(typeof traceparent === 'string' ? traceparent : undefined));
}
