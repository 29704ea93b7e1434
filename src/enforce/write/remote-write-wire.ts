import protobuf from 'protobufjs';
import { UnsupportedInput } from '../errors.js';
import { STRICT_UTF8 } from '../utf8.js';
import { encodeLengthDelimited, LENGTH_DELIMITED } from './protobuf-wire-reader.js';

/**
 * The protobuf wire format, only as deep as label enforcement needs (protobuf encoding spec: a field is a
 * varint tag `number << 3 | wireType`, then its value; wire type 2 is a varint length and that many bytes).
 * Everything not looked at is carried as its raw bytes, so re-encoding loses nothing: samples, exemplars,
 * native histograms, metadata and fields this code has never heard of arrive upstream byte for byte.
 */


/** One field of a message: its number and the exact bytes it occupied (tag included). */
export interface RawField {
  readonly number: number;
  readonly wireType: number;
  /** The value of a length-delimited field (without tag and length); undefined for other wire types. */
  readonly payload: Buffer | undefined;
  readonly raw: Buffer;
}

/** Splits a message into its fields, in wire order. Malformed bytes → `UnsupportedInput`. */
export function readFields(message: Buffer): RawField[] {
  const reader = protobuf.Reader.create(message);
  const fields: RawField[] = [];
  try {
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = reader.uint32();
      const number = tag >>> 3;
      const wireType = tag & 7;
      if (number === 0) throw new Error('field number 0');
      let payload: Buffer | undefined;
      if (wireType === LENGTH_DELIMITED) {
        const bytes = reader.bytes();
        payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } else {
        reader.skipType(wireType);
      }
      fields.push({ number, wireType, payload, raw: message.subarray(start, reader.pos) });
    }
  } catch (err) {
    throw new UnsupportedInput(`malformed protobuf: ${(err as Error).message}`);
  }
  return fields;
}

/** A string field (proto3: empty strings are not written). */
export function encodeStringField(number: number, value: string): Buffer {
  return value === '' ? Buffer.alloc(0) : encodeLengthDelimited(number, Buffer.from(value, 'utf8'));
}

/** Reads the `string` fields 1 and 2 of a `Label`; a repeated field keeps the last value, as protobuf says. */
export function readLabel(payload: Buffer): { name: string; value: string } {
  let name = '';
  let value = '';
  for (const field of readFields(payload)) {
    if (field.number !== 1 && field.number !== 2) continue;
    if (field.payload === undefined) throw new UnsupportedInput('malformed protobuf: label field of wrong type');
    if (field.number === 1) name = decodeUtf8(field.payload);
    if (field.number === 2) value = decodeUtf8(field.payload);
  }
  return { name, value };
}


/** proto3 `string` must be valid UTF-8; Prometheus refuses otherwise, and so do we (no lossy replacement). */
function decodeUtf8(bytes: Buffer): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new UnsupportedInput('label is not valid UTF-8');
  }
}
