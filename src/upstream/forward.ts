import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HttpError } from '../core/http-errors.js';
import type { CostReport } from '../routing/endpoint.js';
import { CostReadingHandler, type ResponseCost } from './cost-reading-handler.js';
import { FaultClassifierHandler } from './fault-classifier-handler.js';
import { ResponseFilterHandler } from './response-filter-handler.js';
import { ResponseRelay } from './response-relay.js';
import { TimeoutHandler } from './timeout-handler.js';
import type { ForwardError } from './upstream-errors.js';

export interface ForwardOptions {
  readonly dispatcher: Dispatcher;
  readonly method: string;
  /** Path and query as sent on the wire (already encoded). */
  readonly pathAndQuery: string;
  readonly headers: Record<string, string>;
  /** A buffered (possibly rewritten) body, or the client's stream, or nothing. */
  readonly body: Buffer | Readable | undefined;
  readonly timeoutMs: number;
  readonly res: ServerResponse;
  /** Sent back as `X-Request-Id` with the upstream's answer (the gateway's own answers set it too). */
  readonly requestId: string;
  /** Registers what to do when the client goes away before the response is complete (`res` closed unfinished). */
  readonly onClientGone: (listener: () => void) => void;
  /** When set, a 2xx response is rewritten before it is sent (response-filter-handler.ts). */
  readonly filterResponse?: (body: Buffer) => Buffer;
  readonly maxFilterBytes: number;
  /** When set, the query's cost is read on the way (cost-reading-handler.ts), the statistics removed if `strip`. */
  readonly costReading?: { readonly report: CostReport | undefined; readonly strip: boolean; readonly cost: ResponseCost };
}

// undici's fast timers tick every 499 ms and may fire up to one tick late (lib/util/timers.js).
const UNDICI_TIMER_SLACK_MS = 1_000;

/**
 * Sends one request through the upstream's pool with undici's `dispatch`; the response goes through a chain of
 * small handlers, each one behaviour, as undici composes its own (decorator-handler.ts):
 *
 *   fault classifier → timeout → response filter (only where the row filters) → cost reading (only for a
 *   metered query) → relay into `res`
 *
 * `done()` runs once, when the response is fully sent, or `done(error)` (a ForwardError, or an HttpError that
 * is the gateway's answer) while nothing has been sent to the client yet (response-relay.ts). No promise per
 * request. When the client goes away first, the exchange is cancelled ('aborted'): the caller reports that
 * (`onClientGone`) from the one 'close' listener the request has; no AbortController.
 */
export function forwardRequest(options: ForwardOptions, done: (error?: ForwardError | HttpError) => void): void {
  // The classifier is first on the chain: whatever reaches the relay as an error is one of the two.
  const relay = new ResponseRelay(options.res, options.requestId, done as (error?: Error) => void);
  const reading = options.costReading;
  const metered = reading
    ? new CostReadingHandler(relay, reading.report ?? {}, reading.cost, reading.strip, options.maxFilterBytes)
    : relay;
  const filtered = options.filterResponse ? new ResponseFilterHandler(metered, options.filterResponse, options.maxFilterBytes) : metered;
  const handler = new FaultClassifierHandler(new TimeoutHandler(filtered, options.timeoutMs));
  options.onClientGone(() => relay.clientGone());
  try {
    options.dispatcher.dispatch(
      {
        method: options.method as Dispatcher.HttpMethod,
        path: options.pathAndQuery,
        headers: options.headers,
        body: options.body ?? null,
        // undici's own, coarse, as a backstop only: the timeout handler's native timer fires first.
        headersTimeout: options.timeoutMs + UNDICI_TIMER_SLACK_MS,
        bodyTimeout: options.timeoutMs + UNDICI_TIMER_SLACK_MS,
      },
      handler,
    );
  } catch (error) {
    handler.onResponseError(null as unknown as Dispatcher.DispatchController, error as Error);
  }
}
