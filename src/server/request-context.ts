import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/error-codes.js';
import type { GrafanaUser } from '../identity/identity.js';
import type { Identity } from '../identity/identity.js';
import type { RequestTrace, RequestTracer } from '../observability/tracing.js';
import type { ProxyRequest } from '../routing/endpoint.js';

/** What one request carries through the pipeline, and what its access-log line reports. */
export interface RequestContext {
  readonly id: string;
  /** `performance.now()` when the request arrived. */
  readonly startMs: number;
  readonly log: Logger;
  /** W3C trace context: the trace id for the access log, the traceparent for the upstream, the span to end. */
  readonly trace: RequestTrace;
  /** Fires when the client goes away before the response is complete. */
  readonly signal: AbortSignal;
  subject?: string;
  authenticator?: string;
  /** The Grafana user, org and teams, when the identity is a Grafana user presented by Grafana. */
  grafana?: GrafanaUser;
  tenant?: string;
  upstream?: string;
  endpoint?: string;
  errorCode?: ErrorCode;
  /** The `[[limits.rules]]` entry that refused the request. */
  limit?: string;
  /** The path as routed, for Prometheus-style error bodies and the access log. */
  path?: string;
  // For the decision log (server/record-decision.ts): references only, set as the pipeline passes them.
  /** Who the request was decided for, once authenticated. */
  identity?: Identity;
  /** The `[[limits.rules]]` that matched the request (admitted or not). */
  limitRules?: readonly string[];
  /** The endpoint row's query parameters (`Endpoint.query.params`): the ones the record shows before and after. */
  queryParams?: readonly string[] | undefined;
  /** The query string and buffered body as the client sent them, before enforcement rewrote `outgoing`. */
  receivedQuery?: string;
  receivedBody?: Buffer | undefined;
  /** The request as it leaves for the upstream (rewritten in place by the endpoint's transform). */
  outgoing?: ProxyRequest;
}

/** A plain request's context: the proxy handler reports the client's close to it, once (see `clientClosed`). */
export interface PlainRequestContext extends RequestContext {
  /** `listener` runs if the client goes away before the response is complete (one at a time: forward.ts's). */
  onClientGone(listener: () => void): void;
  /** The response's `close`: the one listener a request puts on `res`, in the proxy handler. */
  clientClosed(): void;
}

/**
 * Where the answer goes: a plain request's `res`, or an upgrade's socket (both are writable streams). Unfinished
 * and closed means the client went away before the answer was complete.
 */
export interface ClientSide {
  readonly closed: boolean;
  readonly writableFinished: boolean;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * One class, every field set in the constructor, so all contexts share one V8 shape. The response's
 * `close` reaches the context through `clientClosed` (one listener per request, in the proxy handler),
 * and from there whoever waits for it: the upstream exchange (`onClientGone`) and the AbortSignal, which
 * is made on first use (an AbortController costs more per request than the rest of the context, and
 * only lookups need one).
 */
class HttpRequestContext implements PlainRequestContext {
  readonly id: string;
  readonly startMs: number;
  readonly log: Logger;
  readonly trace: RequestTrace;
  subject: string | undefined = undefined;
  authenticator: string | undefined = undefined;
  grafana: GrafanaUser | undefined = undefined;
  tenant: string | undefined = undefined;
  upstream: string | undefined = undefined;
  endpoint: string | undefined = undefined;
  errorCode: ErrorCode | undefined = undefined;
  limit: string | undefined = undefined;
  path: string | undefined = undefined;
  readonly #res: ClientSide;
  identity: Identity | undefined = undefined;
  limitRules: readonly string[] | undefined = undefined;
  queryParams: readonly string[] | undefined = undefined;
  receivedQuery: string | undefined = undefined;
  receivedBody: Buffer | undefined = undefined;
  outgoing: ProxyRequest | undefined = undefined;
  #controller: AbortController | undefined = undefined;
  #onClientGone: (() => void) | undefined = undefined;

  constructor(id: string, log: Logger, res: ClientSide, trace: RequestTrace) {
    this.id = id;
    this.startMs = performance.now();
    this.log = log;
    this.trace = trace;
    this.#res = res;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      // Closed already: `clientClosed` has run and will not run again.
      if (this.#res.closed && !this.#res.writableFinished) this.#controller.abort(new Error('client closed the connection'));
    }
    return this.#controller.signal;
  }

  onClientGone(listener: () => void): void {
    this.#onClientGone = listener;
  }

  clientClosed(): void {
    if (this.#res.writableFinished) return;
    this.#controller?.abort(new Error('client closed the connection'));
    this.#onClientGone?.();
  }
}

/**
 * The context of every request, plain or upgraded: a client's `X-Request-Id` is kept when it is safe to log
 * and send on (else a UUID), and its `traceparent` continued. Whoever owns `res` calls `clientClosed` on its close.
 */
export function createRequestContext(req: IncomingMessage, res: ClientSide, log: Logger, tracer: RequestTracer): PlainRequestContext {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
  const traceparent = req.headers.traceparent;
  return new HttpRequestContext(id, log, res, tracer.start(typeof traceparent === 'string' ? traceparent : undefined));
}
