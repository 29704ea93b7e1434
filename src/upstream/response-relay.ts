import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { buildResponseHeaders } from './headers.js';
import { ForwardError } from './upstream-errors.js';

/**
 * The last handler of the chain: streams the upstream's response into the client's `res`, with backpressure
 * (pause on a full socket, resume on drain; no stream.pipeline per request) and the request's `X-Request-Id`.
 * Calls `done()` once, when the response is fully sent, or `done(error)` with the failure it was handed while
 * nothing had been sent yet; after that a failure destroys the client's connection (the status is already
 * out) and `done()` is called. `clientGone()` cancels the exchange ('aborted') when the client leaves first.
 */
export class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #requestId: string;
  readonly #done: (error?: Error) => void;
  #controller: Dispatcher.DispatchController | undefined = undefined;
  #settled = false;

  constructor(res: ServerResponse, requestId: string, done: (error?: Error) => void) {
    this.#res = res;
    this.#requestId = requestId;
    this.#done = done;
  }

  /** The client went away before the response was complete (`res` closed unfinished). */
  clientGone(): void {
    if (!this.#settled) this.#controller?.abort(clientClosed());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    const res = this.#res;
    if (res.closed && !res.writableFinished) controller.abort(clientClosed());
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx informational: wait for the final response.
    const outHeaders = buildResponseHeaders(headers);
    outHeaders['x-request-id'] = this.#requestId;
    // Headers given to writeHead only (none set before) take Node's fast path.
    this.#res.writeHead(statusCode, statusMessage || undefined, outHeaders);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk)) return;
    // A chunk may come while paused already (undici hands over what it had parsed): one drain listener.
    const waiting = controller.paused;
    controller.pause();
    if (!waiting) this.#res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.#res.headersSent) {
      this.#res.destroy(error);
      this.#settle();
      return;
    }
    this.#settle(error);
  }

  #settle(error?: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#done(error);
  }
}

function clientClosed(): ForwardError {
  return new ForwardError('aborted', new Error('client closed the connection'));
}
