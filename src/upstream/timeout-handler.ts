import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { DecoratorHandler } from './decorator-handler.js';
import { ForwardError } from './upstream-errors.js';

/**
 * The upstream's `timeout`, as the longest silence allowed: armed when the request starts, re-armed by the
 * response's head and each body chunk, stopped at the end. On expiry the exchange is aborted with a
 * `ForwardError('timeout')` (504). A native timer: undici's headersTimeout/bodyTimeout run on its coarse clock
 * (a 499 ms tick, lib/util/timers.js), so a 1 s timeout fired after 1.0–1.5 s; forward.ts keeps them as a
 * backstop only.
 *
 * The handlers after this one get it as their controller, so it sees them pause: while the client's socket is
 * full the exchange is paused and the timer stopped (the upstream is not late then), and re-armed on resume.
 */
export class TimeoutHandler extends DecoratorHandler implements Dispatcher.DispatchController {
  readonly #timeoutMs: number;
  #controller: Dispatcher.DispatchController | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #ended = false;

  constructor(next: Dispatcher.DispatchHandler, timeoutMs: number) {
    super(next);
    this.#timeoutMs = timeoutMs;
  }

  override onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#controller = controller;
    this.#arm();
    this.next.onRequestStart?.(this, context);
  }

  override onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.#arm();
    this.next.onResponseStart?.(this, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // undici may still hand over what it had parsed after a pause: the client is still the slow one then.
    if (!controller.paused) this.#arm();
    this.next.onResponseData?.(this, chunk);
  }

  override onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.#stop();
    this.next.onResponseEnd?.(this, trailers);
  }

  override onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#stop();
    this.next.onResponseError?.(this, error);
  }

  // The controller the handlers after this one see: undici's, with the timer following pause and resume.
  get aborted(): boolean {
    return this.#controller?.aborted ?? false;
  }

  get paused(): boolean {
    return this.#controller?.paused ?? false;
  }

  get reason(): Error | null {
    return this.#controller?.reason ?? null;
  }

  abort(reason: Error): void {
    this.#controller?.abort(reason);
  }

  pause(): void {
    this.#disarm();
    this.#controller?.pause();
  }

  resume(): void {
    if (!this.#ended) this.#arm();
    this.#controller?.resume();
  }

  #arm(): void {
    if (this.#timer === undefined) this.#timer = setTimeout(TimeoutHandler.#expire, this.#timeoutMs, this);
    else this.#timer.refresh();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #stop(): void {
    this.#ended = true;
    this.#disarm();
  }

  // Static, with the handler as the timer's argument: no closure per request.
  static #expire(handler: TimeoutHandler): void {
    handler.#timer = undefined;
    handler.#controller?.abort(new ForwardError('timeout', new Error(`the upstream was silent for ${handler.#timeoutMs} ms`)));
  }
}
