import snappy from 'snappyjs';
import { UnsupportedInput } from '../errors.js';

/**
 * The snappy block format (google/snappy format_description.txt), as remote write and Loki's protobuf push send
 * it: a varint of the uncompressed length, then the compressed stream. The length is checked against `maxBytes`
 * before anything is inflated. snappyjs returns a Buffer for a Buffer: used as is, never copied again.
 * @throws UnsupportedInput when the body does not decode or states more than `maxBytes` (`what` names it).
 */
export function uncompressSnappyBlock(body: Buffer, maxBytes: number, what: string): Buffer {
  try {
    return asBuffer(snappy.uncompress(body, maxBytes));
  } catch (err) {
    throw new UnsupportedInput(`${what} is not valid snappy (block format): ${(err as Error).message}`);
  }
}

export function compressSnappyBlock(message: Buffer): Buffer {
  return asBuffer(snappy.compress(message));
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
