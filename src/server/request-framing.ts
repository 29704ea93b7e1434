import type { IncomingMessage } from 'node:http';
import { HttpError, type ErrorCodeOf } from '../core/http-errors.js';

/**
 * An answer to a request whose framing the gateway will not trust: the connection closes after it, since
 * the next request on it would start where Node's parser thinks this one ended, which an upstream or a proxy
 * in front may read differently (request smuggling, RFC 9112 §11.2).
 */
export class FramingError extends HttpError {
  constructor(code: ErrorCodeOf<400 | 501 | 505>, message: string) {
    super(code, message, { connection: 'close' });
  }
}

/**
 * The framing rules Node's parser leaves to the application. Node itself already refuses (400, closed)
 * Content-Length with Transfer-Encoding, two Content-Lengths, `chunked` twice or not last, obs-fold, a space
 * before the colon, bare CR and a missing Host on HTTP/1.1. On top of that:
 *
 * - HTTP versions other than 1.0 and 1.1 (including HTTP/0.9 request lines): 505 (RFC 9110 §15.6.6).
 * - `Transfer-Encoding` on HTTP/1.0: 400, the framing is faulty (RFC 9112 §6.1).
 * - `Transfer-Encoding` other than exactly one `chunked` (`identity, chunked`, `gzip, chunked`, `Chunked`,
 *   two header lines): 501, a transfer coding the gateway does not implement (RFC 9112 §6.1). Node would read
 *   such a body as chunked where another server reads it to the end of the connection.
 * - Two `Host` header lines: 400 (RFC 9112 §3.2); Node keeps the first, another server the last.
 *
 * Each answer closes the connection. Throws a `FramingError`; returns nothing when the framing is sound.
 */
export function checkRequestFraming(req: IncomingMessage): void {
  if (req.httpVersionMajor !== 1 || (req.httpVersionMinor !== 0 && req.httpVersionMinor !== 1)) {
    throw new FramingError('http_version_not_supported', 'only HTTP/1.0 and HTTP/1.1 are served on this listener');
  }
  const transferEncoding = req.headersDistinct['transfer-encoding'];
  if (transferEncoding !== undefined) {
    if (req.httpVersionMinor === 0) {
      throw new FramingError('ambiguous_framing', 'Transfer-Encoding is not allowed in an HTTP/1.0 request');
    }
    if (transferEncoding.length !== 1 || transferEncoding[0] !== 'chunked') {
      throw new FramingError('unsupported_transfer_encoding', 'the only transfer coding accepted is "Transfer-Encoding: chunked"');
    }
  }
  const host = req.headersDistinct.host;
  if (host !== undefined && host.length > 1) {
    throw new FramingError('duplicate_host', 'the request has more than one Host header');
  }
}

/** `checkRequestFraming` as a question, for the listener (which must know before the pipeline runs). */
export function isFramingSound(req: IncomingMessage): boolean {
  try {
    checkRequestFraming(req);
    return true;
  } catch {
    return false;
  }
}
