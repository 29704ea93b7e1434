/**
 * A cursor over protobuf wire-format bytes (protobuf encoding spec): a field is a varint tag
 * `number << 3 | wireType`, then a varint (type 0), 8 bytes (1), a varint length and that many bytes (2) or
 * 4 bytes (5). Shared by the write enforcers that read bodies at the wire level (loki-push-wire.ts,
 * otlp-traces-wire.ts) so there is one varint reader.
 *
 * Strict where Go's decoders could read differently: groups (types 3, 4), types 6 and 7, field number 0, a
 * tag or length varint longer than 5 bytes or above 2^31, a varint longer than 10 bytes, or a length past the
 * end → UnsupportedInput. Also the one encoder of a length-delimited field, for the enforcers that rebuild.
 */
import { UnsupportedInput } from '../errors.js';

export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH_DELIMITED = 2;
export const FIXED32 = 5;

/** A cursor over the bytes [pos, end) of one message; allocation-free except for errors. */
export class WireReader {
  pos: number;
  private end: number;
  constructor(
    private readonly bytes: Buffer,
    private readonly where: string,
    start = 0,
    end = bytes.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** Re-targets the cursor at [start, end) of the same buffer. */
  reset(start: number, end: number): this {
    this.pos = start;
    this.end = end;
    return this;
  }

  hasMore(): boolean {
    return this.pos < this.end;
  }

  /** The next tag, `number << 3 | wireType`; field number 0 is refused. */
  tag(): number {
    const tag = this.smallVarint();
    if (tag >>> 3 === 0) this.fail('field number 0');
    return tag;
  }

  /** Start of the bytes of the last length-delimited field read. */
  payloadStart = 0;

  /** Reads a length-delimited value and moves past it; returns its end (its start is then `payloadStart`). */
  lengthDelimited(): number {
    const length = this.smallVarint();
    const end = this.pos + length;
    if (end > this.end) this.fail('length past the end');
    this.payloadStart = this.pos;
    this.pos = end;
    return end;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.skipVarint();
    else if (wireType === LENGTH_DELIMITED) this.lengthDelimited();
    else if (wireType === FIXED64) this.advance(8);
    else if (wireType === FIXED32) this.advance(4);
    else this.fail(`wire type ${wireType}`);
  }

  /** A tag, a length or a reference (remote write 2.0 symbol refs): at most 5 bytes and below 2^31. */
  smallVarint(): number {
    // Most tags, lengths and references fit one byte.
    if (this.pos < this.end) {
      const first = this.bytes[this.pos] as number;
      if (first < 0x80) {
        this.pos++;
        return first;
      }
    }
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.bytes[this.pos++] as number;
      value += shift < 28 ? (b & 0x7f) << shift : (b & 0x7f) * 0x10000000;
      if (b < 0x80) {
        if (value > 0x7fffffff) this.fail('varint too large');
        return value;
      }
    }
    return this.fail('varint too long');
  }

  private skipVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      if ((this.bytes[this.pos++] as number) < 0x80) return;
    }
    this.fail('varint too long');
  }

  private advance(count: number): void {
    if (this.pos + count > this.end) this.fail('truncated field');
    this.pos += count;
  }

  private fail(why: string): never {
    throw new UnsupportedInput(`malformed protobuf: ${this.where}: ${why}`);
  }
}

/**
 * How many top-level length-delimited fields `number` a message holds (remote write's series, 1.0 and 2.0),
 * as strictly as the enforcers read the top level: a field `number` of another wire type is `wrongType()`.
 */
export function countLengthDelimitedFields(reader: WireReader, number: number, wrongType: () => Error): number {
  let count = 0;
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === ((number << 3) | LENGTH_DELIMITED)) count++;
    else if (tag >>> 3 === number) throw wrongType();
    reader.skip(tag & 7);
  }
  return count;
}

/** A length-delimited field (wire type 2): tag, varint length, `payload`. */
export function encodeLengthDelimited(number: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeVarint((number << 3) | LENGTH_DELIMITED), encodeVarint(payload.length), payload]);
}

/** An unsigned 32-bit varint. */
function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value >>> 0;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
