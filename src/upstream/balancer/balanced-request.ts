import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { HttpError } from '../../core/http-errors.js';
import { classifyUpstreamError, type UpstreamErrorKind } from '../upstream-errors.js';
import type { Backend } from './backend.js';

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** What one balanced request needs of its balancer (balanced-dispatcher.ts). */
export interface BalancerContext {
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly retryStatusCodes: ReadonlySet<number>;
  readonly unhealthyStatusCodes: ReadonlySet<number>;
  now(): number;
  /** A backend that can take the request, not among `tried`, marked taken; undefined when none is left. */
  choose(tried: readonly Backend[], key: () => string): Backend | undefined;
  /** Takes one retry from the upstream's budget. */
  tryRetry(): boolean;
  attemptEnded(backend: Backend, outcome: 'ok' | UpstreamErrorKind | 'status', durationMs: number): void;
  retried(reason: 'status' | UpstreamErrorKind): void;
}

/** Faults of a backend that a repeatable request may retry elsewhere: nothing of the response reached the client. */
const RETRY_ON: ReadonlySet<UpstreamErrorKind> = new Set(['connect', 'reset', 'timeout']);
/** Faults that count against the backend's health ('aborted' is the client or the gateway leaving). */
const BACKEND_FAULTS: ReadonlySet<UpstreamErrorKind> = new Set(['connect', 'reset', 'timeout', 'protocol', 'tls']);

/** An answer to a retried status, dropped to try the next backend. Never reaches the caller. */
class DiscardedForRetry extends Error {}

/**
 * One request through a balanced upstream: the decorator between the caller's handler (forward.ts, lookup,
 * upgrade) and the attempts, one per backend tried. To the caller it is the one controller of the request
 * (abort, pause, resume reach the current attempt), and it sees one request start and one response: an attempt
 * whose answer is retried is dropped before any byte of it is passed on, and once a response has started
 * (its status line was passed on) nothing is retried. Retries go to a backend not yet tried, only for
 * a repeatable request (decided by the balancer), within `maxRetries`, the upstream's budget and its timeout.
 */
export class BalancedRequest implements Dispatcher.DispatchController {
  readonly #ctx: BalancerContext;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #repeatable: boolean;
  readonly #key: () => string;
  readonly #tried: Backend[] = [];
  readonly #startMs: number;
  #current: Attempt | undefined;
  #requestStarted = false;
  responded = false;
  #abortReason: Error | null = null;
  #paused = false;

  constructor(
    ctx: BalancerContext,
    opts: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    repeatable: boolean,
    key: () => string,
    nowMs: number,
  ) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#handler = handler;
    this.#repeatable = repeatable;
    this.#key = key;
    this.#startMs = nowMs;
  }

  /** Sends the first attempt. */
  start(first: Backend): void {
    this.#send(first, this.#startMs);
  }

  get aborted(): boolean {
    return this.#abortReason !== null;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#abortReason;
  }
  abort(reason: Error): void {
    if (this.#abortReason) return;
    this.#abortReason = reason;
    this.#current?.controller?.abort(reason);
  }
  pause(): void {
    this.#paused = true;
    this.#current?.controller?.pause();
  }
  resume(): void {
    this.#paused = false;
    this.#current?.controller?.resume();
  }

  get handler(): Dispatcher.DispatchHandler {
    return this.#handler;
  }
  get ctx(): BalancerContext {
    return this.#ctx;
  }
  get abortReason(): Error | null {
    return this.#abortReason;
  }

  attemptStarted(attempt: Attempt, controller: Dispatcher.DispatchController, context: unknown): void {
    if (attempt !== this.#current) return;
    if (this.#abortReason) {
      controller.abort(this.#abortReason);
      return;
    }
    if (this.#paused) controller.pause();
    if (!this.#requestStarted) {
      this.#requestStarted = true;
      this.#handler.onRequestStart?.(this, context);
    }
  }

  /** After an attempt failed or was dropped: the next backend, if the request may be tried again. */
  retry(reason: 'status' | UpstreamErrorKind): boolean {
    if (!this.#repeatable || this.responded || this.#abortReason) return false;
    if (this.#tried.length > this.#ctx.maxRetries) return false;
    if (this.#ctx.now() - this.#startMs >= this.#ctx.timeoutMs) return false;
    const next = this.#ctx.choose(this.#tried, this.#key);
    if (!next) return false;
    if (!this.#ctx.tryRetry()) {
      next.health.released();
      return false;
    }
    this.#ctx.retried(reason);
    this.#send(next, this.#ctx.now());
    return true;
  }

  /** Whether a retry would be allowed at all (checked before an answer is dropped). */
  mayRetry(): boolean {
    return this.#repeatable && !this.responded && !this.#abortReason && this.#tried.length <= this.#ctx.maxRetries;
  }

  #send(backend: Backend, nowMs: number): void {
    backend.inFlight += 1;
    this.#tried.push(backend);
    const attempt = new Attempt(this, backend, nowMs);
    this.#current = attempt;
    try {
      backend.dispatcher.dispatch(this.#opts, attempt);
    } catch (error) {
      attempt.onResponseError(null, error as Error);
    }
  }
}

/** The handler of one attempt on one backend: health and metrics for the backend, then the request decides. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly #request: BalancedRequest;
  readonly #backend: Backend;
  readonly #startMs: number;
  controller: Dispatcher.DispatchController | undefined;
  #discarded = false;
  #ended = false;

  constructor(request: BalancedRequest, backend: Backend, startMs: number) {
    this.#request = request;
    this.#backend = backend;
    this.#startMs = startMs;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.controller = controller;
    this.#request.attemptStarted(this, controller, context);
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#request.responded = true;
    this.#backend.health.succeeded();
    this.#end('ok');
    this.#request.handler.onRequestUpgrade?.(this.#request, statusCode, headers, socket);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Headers, statusMessage?: string): void {
    const { ctx } = this.#request;
    if (statusCode >= 200) {
      if (ctx.unhealthyStatusCodes.has(statusCode)) this.#backend.health.failed(ctx.now());
      else this.#backend.health.succeeded();
      if (ctx.retryStatusCodes.has(statusCode) && this.#request.mayRetry()) {
        // Dropped before any of it is passed on (its events are ignored from here), if another backend takes
        // the request; the connection goes with it (its body is not read).
        this.#discarded = true;
        if (this.#request.retry('status')) {
          this.#end('status');
          controller.abort(new DiscardedForRetry(`status ${statusCode}`));
          return;
        }
        this.#discarded = false;
      }
      this.#request.responded = true;
    }
    this.#request.handler.onResponseStart?.(this.#request, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discarded) return;
    this.#request.handler.onResponseData?.(this.#request, chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Headers): void {
    if (this.#discarded) return;
    this.#end('ok');
    this.#request.handler.onResponseEnd?.(this.#request, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.#discarded) return;
    const request = this.#request;
    const { ctx } = request;
    const { health } = this.#backend;
    // The gateway's own answers (a request the signer could not sign) say nothing of the backend.
    if (error instanceof HttpError) {
      this.#end('aborted');
      health.released();
      request.handler.onResponseError?.(request, error);
      return;
    }
    const kind = request.abortReason ? kindOfAbort(request.abortReason) : classifyUpstreamError(error);
    this.#end(kind);
    if (BACKEND_FAULTS.has(kind)) health.failed(ctx.now());
    else health.released();
    if (RETRY_ON.has(kind) && request.retry(kind)) return;
    request.handler.onResponseError?.(request, error);
  }

  #end(outcome: 'ok' | UpstreamErrorKind | 'status'): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#backend.inFlight -= 1;
    const { ctx } = this.#request;
    ctx.attemptEnded(this.#backend, outcome, ctx.now() - this.#startMs);
  }
}

/** The caller cancelled: its own timeout (forward.ts's ForwardError 'timeout') is the backend's fault; a client leaving is not. */
function kindOfAbort(reason: Error): UpstreamErrorKind {
  return (reason as { kind?: unknown }).kind === 'timeout' ? 'timeout' : 'aborted';
}
