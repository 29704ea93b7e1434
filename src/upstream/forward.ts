import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BadGateway, HttpError, PayloadTooLarge } from '../core/http-errors.js';
import { buildResponseHeaders } from './headers.js';
import { classifyUpstreamError, type UpstreamErrorKind } from './upstream-errors.js';

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
  /**
   * When set, a 2xx response is buffered (up to `maxFilterBytes`) and rewritten before it is sent. The filter
   * may throw an HttpError to answer with it instead (e.g. 404 when nothing is left for the identity); any
   * other failure means the upstream's answer was unreadable: 502. A response with a content coding (the
   * gateway asked for `identity`) is unreadable too: it is never filtered as if it were plain, nor relayed.
   */
  readonly filterResponse?: (body: Buffer) => Buffer;
  readonly maxFilterBytes: number;
}

// undici's fast timers tick every 499 ms and may fire up to one tick late (lib/util/timers.js).
const UNDICI_TIMER_SLACK_MS = 1_000;

/** Why forwarding failed before a response could be sent; the caller maps it (upstream-errors.ts). */
export class ForwardError extends Error {
  readonly kind: UpstreamErrorKind;
  constructor(kind: UpstreamErrorKind, cause: unknown) {
    super(`upstream ${kind}`, { cause });
    this.name = 'ForwardError';
    this.kind = kind;
  }
}

/**
 * Sends one request through the upstream's pool with undici's `dispatch` and streams the response straight
 * into `res`, with backpressure (pause on a full socket, resume on drain) and no stream.pipeline per
 * request. Calls `done()` once, when the response is fully sent, or `done(error)` (a ForwardError, or an
 * HttpError that is the gateway's answer) while nothing has been sent to the client yet; after that a failure
 * destroys the client connection (the status is already out) and `done()` is called. No promise per request.
 * When the client goes away first (`res` closes unfinished), the upstream request is cancelled ('aborted'):
 * the caller reports that (`onClientGone`) from the one 'close' listener the request has; no AbortController.
 */
export function forwardRequest(options: ForwardOptions, done: (error?: ForwardError | HttpError) => void): void {
  const { res } = options;
  let controller: Dispatcher.DispatchController | undefined;
  let buffered: Buffer[] | undefined;
  let bufferedBytes = 0;
  let isEncoded = false;
  let settled = false;
  const settle = (error?: ForwardError | HttpError) => {
    if (settled) return;
    settled = true;
    disarmTimer();
    done(error);
  };
  const clientGone = () => new ForwardError('aborted', new Error('client closed the connection'));
  // `timeout` on a native timer: undici runs headersTimeout/bodyTimeout on its coarse clock (a 499 ms
  // tick), so a 1 s timeout fired after 1.0–1.5 s. Armed when the request starts, re-armed by each body
  // chunk, stopped while the client's socket is full (the upstream is not late then) and at the end.
  let timer: NodeJS.Timeout | undefined;
  const onTimeout = () => controller?.abort(new ForwardError('timeout', new Error(`the upstream was silent for ${options.timeoutMs} ms`)));
  const armTimer = () => {
    if (timer === undefined) timer = setTimeout(onTimeout, options.timeoutMs);
    else timer.refresh();
  };
  const disarmTimer = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  options.onClientGone(() => {
    if (!settled) controller?.abort(clientGone());
  });

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(ctrl) {
      controller = ctrl;
      armTimer();
      if (res.closed && !res.writableFinished) ctrl.abort(clientGone());
    },
    onResponseStart(_ctrl, statusCode, headers, statusMessage) {
      armTimer();
      if (statusCode < 200) return; // 1xx informational: wait for the final response.
      const outHeaders = buildResponseHeaders(headers);
      outHeaders['x-request-id'] = options.requestId;
      if (options.filterResponse && statusCode >= 200 && statusCode < 300) {
        buffered = [];
        isEncoded = hasContentCoding(outHeaders['content-encoding']);
        delete outHeaders['content-length'];
        res.statusCode = statusCode;
        if (statusMessage) res.statusMessage = statusMessage;
        for (const [name, value] of Object.entries(outHeaders)) if (value !== undefined) res.setHeader(name, value);
        return;
      }
      // Headers given to writeHead only (none set before) take Node's fast path.
      res.writeHead(statusCode, statusMessage || undefined, outHeaders);
    },
    onResponseData(ctrl, chunk) {
      armTimer();
      if (buffered) {
        bufferedBytes += chunk.length;
        if (bufferedBytes > options.maxFilterBytes) {
          ctrl.abort(new PayloadTooLarge('upstream response is too large to filter'));
          return;
        }
        buffered.push(chunk);
        return;
      }
      if (!res.write(chunk)) {
        ctrl.pause();
        disarmTimer();
        res.once('drain', () => {
          if (!settled) armTimer();
          ctrl.resume();
        });
      }
    },
    onResponseEnd() {
      if (buffered && options.filterResponse) {
        let body: Buffer;
        try {
          if (isEncoded) throw new Error('the upstream response has a content coding');
          body = options.filterResponse(Buffer.concat(buffered));
        } catch (error) {
          // An HttpError is the filter's answer; anything else: the upstream's answer could not be read as
          // the API promises, its fault, not the client's.
          const answer = error instanceof HttpError ? error : new BadGateway('upstream_bad_response', 'the upstream response could not be filtered');
          // The error answer must not carry the upstream's headers (set above, not yet sent).
          for (const name of res.getHeaderNames()) res.removeHeader(name);
          settle(answer);
          return;
        }
        res.setHeader('content-length', body.length);
        res.removeHeader('content-encoding');
        res.end(body);
      } else {
        res.end();
      }
      settle();
    },
    onResponseError(_ctrl, error) {
      // The gateway's own answers (a response too large to filter, a request the signing interceptor could
      // not sign) are not upstream faults.
      if (error instanceof HttpError && !res.headersSent) {
        settle(error);
        return;
      }
      const forwardError = error instanceof ForwardError ? error : new ForwardError(classifyUpstreamError(error), error);
      if (res.headersSent) {
        res.destroy(forwardError);
        settle();
        return;
      }
      settle(forwardError);
    },
  };

  try {
    options.dispatcher.dispatch(
      {
        method: options.method as Dispatcher.HttpMethod,
        path: options.pathAndQuery,
        headers: options.headers,
        body: options.body ?? null,
        // undici's own, coarse, as a backstop only: the native timer above fires first.
        headersTimeout: options.timeoutMs + UNDICI_TIMER_SLACK_MS,
        bodyTimeout: options.timeoutMs + UNDICI_TIMER_SLACK_MS,
      },
      handler,
    );
  } catch (error) {
    settle(new ForwardError(classifyUpstreamError(error), error));
  }
}

/** RFC 9110 §8.4: any coding other than `identity` must be undone before the content can be read. */
function hasContentCoding(value: unknown): boolean {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  return text.split(',').some((coding) => {
    const name = coding.trim().toLowerCase();
    return name !== '' && name !== 'identity';
  });
}
