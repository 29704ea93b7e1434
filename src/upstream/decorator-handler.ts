import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/**
 * One behaviour on the response of an exchange, as undici composes them (`lib/handler/decorator-handler.js`):
 * a handler that passes every event on to the next one and overrides only the events it changes. The last
 * handler of the chain (response-relay.ts) writes to the client. Ours, not undici's `DecoratorHandler`: that
 * one is deprecated, wraps its next handler again and asserts on every event, which the hot path does not pay.
 *
 * The controller undici gives is passed on as is, unless a handler needs to see what the ones after it do
 * with it (timeout-handler.ts passes itself). `onResponseError` may come with no controller: an interceptor
 * that fails before dispatching (signing-interceptor.ts) has none to give.
 */
export class DecoratorHandler implements Dispatcher.DispatchHandler {
  protected readonly next: Dispatcher.DispatchHandler;

  constructor(next: Dispatcher.DispatchHandler) {
    this.next = next;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.next.onRequestStart?.(controller, context);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.next.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.next.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.next.onResponseError?.(controller, error);
  }
}
