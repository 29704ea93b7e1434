import type { IncomingMessage } from 'node:http';
import { HttpError } from '../core/http-errors.js';

/**
 * How much of an unread request body is read and thrown away so the connection can carry the next request,
 * and for how long; past either the connection is closed instead. Go's net/http discards up to 256 KiB the
 * same way (server.go, maxPostHandlerReadBytes).
 */
export const DRAIN_LIMIT_BYTES = 256 * 1024;
export const DRAIN_TIMEOUT_MS = 1_000;

/**
 * Settles the body of a request refused before its body was read (401, 403, 404, 413 …), so the answer can
 * say truthfully whether the connection stays open (RFC 9112 §9.6). True: nothing is left unread (no body,
 * read already, or drained here) and the connection may carry the next request. False: it must be answered
 * with `Connection: close` and closed — the framing is not trusted (`Connection: close` on the error), the
 * body is too large (413, or a declared length past the limit), it was half read, or it did not end in time.
 */
export async function drainUnreadBody(req: IncomingMessage, error: unknown): Promise<boolean> {
  if (error instanceof HttpError && (error.headers.connection === 'close' || error.status === 413)) return false;
  if (req.complete) return true;
  if (req.destroyed || req.readableDidRead) return false;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > DRAIN_LIMIT_BYTES) return false;
  return new Promise<boolean>((resolve) => {
    let total = 0;
    const settle = (drained: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > DRAIN_LIMIT_BYTES) settle(false);
    };
    const onEnd = () => settle(true);
    const onFail = () => settle(false);
    const timer = setTimeout(onFail, DRAIN_TIMEOUT_MS);
    req.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onFail);
    req.resume();
  });
}
