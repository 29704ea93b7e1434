import type { IncomingMessage } from 'node:http';
import { PayloadTooLarge } from '../core/http-errors.js';

/** RFC 9112 §6.3: a request has a body when it declares a length above zero or a transfer coding. */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads the whole body, refusing (413) past `limitBytes` without reading further. */
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
  return Buffer.concat(chunks, total);
}
