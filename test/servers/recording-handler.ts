import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** What a handler passed on: each event by name, with its status, headers, chunk or error. */
export type HandlerEvent =
  | { readonly event: 'start'; readonly controller: Dispatcher.DispatchController }
  | {
      readonly event: 'head';
      readonly statusCode: number;
      readonly headers: IncomingHttpHeaders;
      readonly controller: Dispatcher.DispatchController;
    }
  | { readonly event: 'data'; readonly chunk: string; readonly controller: Dispatcher.DispatchController }
  | { readonly event: 'end' }
  | { readonly event: 'error'; readonly error: Error };

/** The next handler of a chain under test (upstream/*-handler.ts): records what reached it, in order. */
export function recordingHandler(): Dispatcher.DispatchHandler & { readonly events: HandlerEvent[] } {
  const events: HandlerEvent[] = [];
  return {
    events,
    onRequestStart: (controller) => void events.push({ event: 'start', controller }),
    onResponseStart: (controller, statusCode, headers) => void events.push({ event: 'head', statusCode, headers, controller }),
    onResponseData: (controller, chunk) => void events.push({ event: 'data', chunk: chunk.toString('utf8'), controller }),
    onResponseEnd: () => void events.push({ event: 'end' }),
    onResponseError: (_controller, error) => void events.push({ event: 'error', error }),
  };
}

/** undici's side of an exchange: counts pauses and resumes, keeps the abort reason. */
export class FakeController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  pauses = 0;
  resumes = 0;
  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
}
