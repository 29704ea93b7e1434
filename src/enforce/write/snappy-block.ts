import snappy from 'snappyjs';
import { UnsupportedInput } from '../errors.js';

/**
 * The snappy block format (google/snappy format_description.txt), as remote write and Loki's protobuf push send
 * it: a varint of the uncompressed length, then elements, each a literal (tag type 0: the length in the tag or in
 * 1–4 bytes after it, then the bytes) or a copy of earlier output (types 1, 2, 3: length and an offset of 11, 16
 * or 32 bits). Decoded here rather than by snappyjs, whose decoder copies byte by byte through generic helpers and
 * half the remote-write check was spent in it; snappyjs still compresses (the tests pin this decoder against it).
 *
 * Strict as Go's snappy.Decode: the stated length above `maxBytes` (checked before anything is allocated), a
 * length varint over 5 bytes or 2^32, an element past the end of the input, a copy of offset 0 or reaching before
 * the output's start, or output longer or shorter than stated → UnsupportedInput (snappyjs left a short output's
 * tail as zeros).
 * @throws UnsupportedInput naming the body (`what`).
 */
export function uncompressSnappyBlock(body: Buffer, maxBytes: number, what: string): Buffer {
  const fail = (why: string): never => {
    throw new UnsupportedInput(`${what} is not valid snappy (block format): ${why}`);
  };
  const end = body.length;
  const { length, headerBytes } = readSnappyLength(body, maxBytes, what);
  let pos = headerBytes;
  const out = Buffer.allocUnsafe(length);
  let op = 0;
  while (pos < end) {
    const tag = body[pos++] as number;
    const type = tag & 3;
    if (type === 0) {
      let count = tag >>> 2;
      if (count >= 60) {
        const bytes = count - 59;
        if (pos + bytes > end) fail('truncated literal length');
        count = 0;
        for (let i = bytes - 1; i >= 0; i--) count = count * 256 + (body[pos + i] as number);
        pos += bytes;
      }
      count += 1;
      if (pos + count > end) fail('truncated literal');
      if (op + count > length) fail('output longer than stated');
      if (count <= 32) {
        for (let i = 0; i < count; i++) out[op + i] = body[pos + i] as number;
      } else {
        body.copy(out, op, pos, pos + count);
      }
      pos += count;
      op += count;
      continue;
    }
    let count: number;
    let offset: number;
    if (type === 1) {
      if (pos >= end) fail('truncated copy');
      count = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | (body[pos++] as number);
    } else if (type === 2) {
      if (pos + 2 > end) fail('truncated copy');
      count = 1 + (tag >>> 2);
      offset = (body[pos] as number) | ((body[pos + 1] as number) << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) fail('truncated copy');
      count = 1 + (tag >>> 2);
      offset =
        ((body[pos] as number) | ((body[pos + 1] as number) << 8) | ((body[pos + 2] as number) << 16)) +
        (body[pos + 3] as number) * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > op) fail('copy offset out of range');
    if (op + count > length) fail('output longer than stated');
    // Byte by byte: a copy may overlap its own output (offset < count repeats a pattern).
    let from = op - offset;
    for (let i = 0; i < count; i++) out[op++] = out[from++] as number;
  }
  if (op !== length) fail('output shorter than stated');
  return out;
}

/**
 * The stated uncompressed length of a snappy block (its leading varint) and the varint's size, refused as
 * `uncompressSnappyBlock` refuses it: a varint over 5 bytes, missing or over 2^32, or a length over `maxBytes`.
 * Read before any output is allocated, by this decoder and before the native one is called.
 * @throws UnsupportedInput naming the body (`what`).
 */
export function readSnappyLength(body: Buffer, maxBytes: number, what: string): { readonly length: number; readonly headerBytes: number } {
  const fail = (why: string): never => {
    throw new UnsupportedInput(`${what} is not valid snappy (block format): ${why}`);
  };
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift > 28 || pos >= body.length) fail('bad length header');
    const b = body[pos++] as number;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > 0xffffffff) fail('bad length header');
  if (length > maxBytes) fail(`the uncompressed length of ${length} is over the limit of ${maxBytes}`);
  return { length, headerBytes: pos };
}

/** snappyjs returns a Buffer for a Buffer: used as is, never copied again. */
export function compressSnappyBlock(message: Buffer): Buffer {
  const compressed: Uint8Array = snappy.compress(message);
  return Buffer.isBuffer(compressed) ? compressed : Buffer.from(compressed.buffer, compressed.byteOffset, compressed.byteLength);
}
