import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { BadGateway, HttpError, PayloadTooLarge } from '../core/http-errors.js';
import { DecoratorHandler } from './decorator-handler.js';

/**
 * Rewrites a 2xx response before the client sees any of it (the row's `filterResponse`, e.g. Alertmanager's
 * alerts narrowed to the identity's policy): its head is held, its body gathered (up to `maxBytes`, else the
 * exchange is aborted with 413), and at the end the filtered body goes on, with its own `content-length`, as
 * one response. Any other status passes through untouched.
 *
 * The filter may throw an HttpError to answer with it instead (404 when nothing is left for the identity);
 * any other failure means the upstream's answer was unreadable: 502. A body with a content coding (the
 * gateway asked for `identity`) is unreadable too: it is never filtered as if it were plain, nor relayed. An
 * answer in place of the response reaches the next handler as `onResponseError`, before any of the
 * upstream's headers were sent.
 */
export class ResponseFilterHandler extends DecoratorHandler {
  readonly #filter: (body: Buffer) => Buffer;
  readonly #maxBytes: number;
  #chunks: Buffer[] | undefined = undefined;
  #bytes = 0;
  #statusCode = 0;
  #headers: IncomingHttpHeaders = {};
  #statusMessage: string | undefined = undefined;

  constructor(next: Dispatcher.DispatchHandler, filter: (body: Buffer) => Buffer, maxBytes: number) {
    super(next);
    this.#filter = filter;
    this.#maxBytes = maxBytes;
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200 || statusCode >= 300) {
      this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
      return;
    }
    this.#chunks = [];
    this.#statusCode = statusCode;
    this.#headers = headers;
    this.#statusMessage = statusMessage;
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#chunks === undefined) {
      this.next.onResponseData?.(controller, chunk);
      return;
    }
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxBytes) {
      controller.abort(new PayloadTooLarge('upstream response is too large to filter'));
      return;
    }
    this.#chunks.push(chunk);
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.#chunks === undefined) {
      this.next.onResponseEnd?.(controller, trailers);
      return;
    }
    let body: Buffer;
    try {
      if (hasContentCoding(this.#headers['content-encoding'])) throw new Error('the upstream response has a content coding');
      body = this.#filter(Buffer.concat(this.#chunks));
    } catch (error) {
      // An HttpError is the filter's answer; anything else: the upstream's answer could not be read as the API
      // promises, its fault, not the client's.
      const answer =
        error instanceof HttpError ? error : new BadGateway('upstream_bad_response', 'the upstream response could not be filtered');
      this.next.onResponseError?.(controller, answer);
      return;
    }
    this.next.onResponseStart?.(controller, this.#statusCode, filteredHeaders(this.#headers, body.length), this.#statusMessage);
    this.next.onResponseData?.(controller, body);
    this.next.onResponseEnd?.(controller, trailers);
  }
}

/** The upstream's headers for the filtered body: its own length, no content coding (none was, or it was refused). */
function filteredHeaders(upstream: IncomingHttpHeaders, length: number): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const name in upstream) if (name !== 'content-length' && name !== 'content-encoding') headers[name] = upstream[name];
  headers['content-length'] = String(length);
  return headers;
}

/** RFC 9110 §8.4: any coding other than `identity` must be undone before the content can be read. */
export function hasContentCoding(value: unknown): boolean {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  return text.split(',').some((coding) => {
    const name = coding.trim().toLowerCase();
    return name !== '' && name !== 'identity';
  });
}
