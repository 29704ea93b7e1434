/**
 * Content decoding of write bodies with a bound on the output, against decompression bombs (a few KiB of
 * gzip can expand to gigabytes). Shared by the Loki push and OTLP trace ingest enforcers.
 */
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { UnsupportedInput } from '../errors.js';

/**
 * Decompresses `body`: `gzip` (RFC 1952, concatenated members read as one stream, as Go's gzip.Reader does)
 * or `deflate` (raw DEFLATE, RFC 1951, as Go's compress/flate).
 * @throws UnsupportedInput when the body does not decode or decodes to more than `maxOutputLength` bytes
 *   (`what` names the body in the message, e.g. "push body").
 */
export function decompressBody(body: Buffer, encoding: 'gzip' | 'deflate', maxOutputLength: number, what: string): Buffer {
  try {
    return encoding === 'gzip' ? gunzipSync(body, { maxOutputLength }) : inflateRawSync(body, { maxOutputLength });
  } catch (error) {
    throw new UnsupportedInput(`${what} does not decode as ${encoding}: ${(error as Error).message}`);
  }
}
