import type { IncomingMessage } from 'node:http';
import { PayloadTooLarge } from '../core/http-errors.js';
import { releaseBuffer } from '../core/release-buffer.js';

/** RFC 9112 §6.3: a request has a body when it declares a length above zero or a transfer coding. */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads the whole body (one chunk: that chunk, else one copy), refusing (413) past `limitBytes` without reading further. */
export async function readRequestBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new PayloadTooLarge(`request body is larger than ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > limitBytes) throw new PayloadTooLarge(`request body is larger than ${limitBytes} bytes`);
    chunks.push(buffer);
  }
  if (chunks.length === 1) return chunks[0] as Buffer;
  const body = Buffer.concat(chunks, total);
  // The chunks are the parser's copies, read by nobody else: their memory goes back now, not at the next full GC.
  for (const chunk of chunks) releaseBuffer(chunk);
  return body;
}
