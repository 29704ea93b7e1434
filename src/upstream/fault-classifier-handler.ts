import type { Dispatcher } from 'undici';
import { HttpError } from '../core/http-errors.js';
import { DecoratorHandler } from './decorator-handler.js';
import { classifyUpstreamError, ForwardError } from './upstream-errors.js';

/**
 * First on the chain: every failure of the exchange leaves it as one of two things. The gateway's own answers
 * (an `HttpError`: a response too large to filter, a request the signing interceptor could not sign) and
 * faults already named (a `ForwardError`: the timeout, a client that left) pass as they are; anything else
 * undici or the socket reports becomes a `ForwardError` of its kind (upstream-errors.ts, the one table).
 */
export class FaultClassifierHandler extends DecoratorHandler {
  override onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.next.onResponseError?.(controller, classifyFault(error));
  }
}

export function classifyFault(error: unknown): HttpError | ForwardError {
  return error instanceof HttpError || error instanceof ForwardError ? error : new ForwardError(classifyUpstreamError(error), error);
}
