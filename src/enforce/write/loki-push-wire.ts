/**
 * Loki's protobuf push (`logproto.PushRequest`, grafana/loki pkg/push/push.proto) read at the wire level, only
 * as deep as label enforcement needs, without building objects for the log lines.
 *
 * Wire format (protobuf encoding spec): a field is a varint tag `number << 3 | wireType`, then a varint
 * (type 0), 8 bytes (1), a varint length and that many bytes (2) or 4 bytes (5). Read as Loki's generated
 * decoder reads it, and stricter wherever the two could differ:
 * - PushRequest: 1 = streams (repeated StreamAdapter), 2 = format (string).
 * - StreamAdapter: 1 = labels (string; a repeated field: the last one counts, as in Go), 2 = entries
 *   (repeated EntryAdapter), 3 = hash (varint).
 * - EntryAdapter: 1 = timestamp, 2 = line, 3 = structuredMetadata (messages/bytes, not looked into).
 * - A known field with the wrong wire type, groups (types 3, 4), types 6 and 7, field number 0, a tag or
 *   length varint longer than 5 bytes or above 2^31, a varint longer than 10 bytes, or a length past the end
 *   → UnsupportedInput (Go errors on all of them or reads them the same; refusing cannot let anything by).
 * - Fields the gateway does not forward (unknown fields anywhere, the stream `hash` the distributor
 *   recomputes, the entry `parsed` field clients must not send) mark the request `hasDroppedFields`: it is
 *   then rebuilt without them (`encodePushRequest`), as the protobufjs re-encoding this replaces did.
 */
import { UnsupportedInput } from '../errors.js';
import { encodeLengthDelimited, LENGTH_DELIMITED, VARINT, WireReader } from './protobuf-wire-reader.js';
import { STRICT_UTF8 } from '../utf8.js';

const REQUEST_STREAMS = 1;
const REQUEST_FORMAT = 2;
const STREAM_LABELS = 1;
const STREAM_ENTRIES = 2;
const STREAM_HASH = 3;
/** EntryAdapter fields forwarded: timestamp (1), line (2), structuredMetadata (3). */
const isForwardedEntryField = (number: number): boolean => number >= 1 && number <= 3;

/** One stream as found on the wire. */
export interface WirePushStream {
  /** The `labels` string (strict UTF-8). */
  readonly labels: string;
  /** The StreamAdapter message bytes (without tag and length). */
  readonly payload: Buffer;
  /** The whole field (tag, length, payload): forwarded as is when the stream is not rebuilt. */
  readonly raw: Buffer;
  /** Holds a field that is not forwarded (hash, unknown, an entry's `parsed` or unknown field). */
  readonly hasDroppedFields: boolean;
}

export interface WirePushRequest {
  readonly streams: readonly WirePushStream[];
  /** The last `format` field as received (tag included), if any. */
  readonly format: Buffer | undefined;
  /** Some field of the request, a stream or an entry is not forwarded: the body must be rebuilt. */
  readonly hasDroppedFields: boolean;
}

/** Reads a decompressed PushRequest. Malformed bytes → UnsupportedInput. */
export function readPushRequest(message: Buffer): WirePushRequest {
  const streams: WirePushStream[] = [];
  let format: Buffer | undefined;
  let hasDroppedFields = false;
  const reader = new WireReader(message, 'push request');
  const inner = new WireReader(message, 'stream');
  const entry = new WireReader(message, 'entry');
  while (reader.hasMore()) {
    const start = reader.pos;
    const tag = reader.tag();
    const number = tag >>> 3;
    if (number !== REQUEST_STREAMS && number !== REQUEST_FORMAT) {
      reader.skip(tag & 7);
      hasDroppedFields = true;
      continue;
    }
    expectWireType(tag, number, 'push request');
    const end = reader.lengthDelimited();
    if (number === REQUEST_FORMAT) {
      format = message.subarray(start, end);
      continue;
    }
    const from = reader.payloadStart;
    const stream = readStream(message, inner.reset(from, end), entry, streams.length);
    streams.push({
      labels: stream.labels,
      payload: message.subarray(from, end),
      raw: message.subarray(start, end),
      hasDroppedFields: stream.hasDroppedFields,
    });
    hasDroppedFields ||= stream.hasDroppedFields;
  }
  return { streams, format, hasDroppedFields };
}

function readStream(message: Buffer, reader: WireReader, entry: WireReader, index: number): { labels: string; hasDroppedFields: boolean } {
  let labelsFrom = -1;
  let labelsTo = -1;
  let hasDroppedFields = false;
  while (reader.hasMore()) {
    const tag = reader.tag();
    const number = tag >>> 3;
    if (number === STREAM_LABELS || number === STREAM_ENTRIES) {
      expectWireType(tag, number, `stream #${index}`);
      const to = reader.lengthDelimited();
      const payloadFrom = reader.payloadStart;
      if (number === STREAM_LABELS) {
        labelsFrom = payloadFrom;
        labelsTo = to;
      } else {
        hasDroppedFields ||= hasUnforwardedEntryField(entry.reset(payloadFrom, to));
      }
    } else {
      if (number === STREAM_HASH && (tag & 7) !== VARINT) throw wrongWireType(number, `stream #${index}`);
      reader.skip(tag & 7);
      hasDroppedFields = true;
    }
  }
  const labels = labelsFrom < 0 ? undefined : message.subarray(labelsFrom, labelsTo);
  return { labels: decodeLabels(labels, `stream #${index}`), hasDroppedFields };
}

/** Walks one entry (`reader` positioned on it); true when it holds a field the gateway does not forward. */
function hasUnforwardedEntryField(reader: WireReader): boolean {
  let dropped = false;
  while (reader.hasMore()) {
    const tag = reader.tag();
    const number = tag >>> 3;
    if (isForwardedEntryField(number)) expectWireType(tag, number, 'entry');
    else dropped = true;
    reader.skip(tag & 7);
  }
  return dropped;
}

function decodeLabels(bytes: Buffer | undefined, where: string): string {
  if (bytes === undefined) return '';
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new UnsupportedInput(`${where}: labels are not valid UTF-8`);
  }
}

/**
 * Encodes a PushRequest from streams to forward: each either its received field (`raw`) or rebuilt from a new
 * labels string and its payload's entries (fields the gateway does not forward are left out).
 */
export function encodePushRequest(
  streams: readonly ({ readonly raw: Buffer } | { readonly labels: string; readonly payload: Buffer })[],
  format: Buffer | undefined,
): Buffer {
  const parts: Buffer[] = [];
  for (const stream of streams) {
    parts.push('raw' in stream ? stream.raw : encodeLengthDelimited(REQUEST_STREAMS, rebuildStream(stream.labels, stream.payload)));
  }
  if (format !== undefined) parts.push(format);
  return Buffer.concat(parts);
}

function rebuildStream(labels: string, payload: Buffer): Buffer {
  const parts: Buffer[] = [encodeLengthDelimited(STREAM_LABELS, Buffer.from(labels, 'utf8'))];
  const reader = new WireReader(payload, 'stream');
  const entry = new WireReader(payload, 'entry');
  while (reader.hasMore()) {
    const start = reader.pos;
    const tag = reader.tag();
    if (tag >>> 3 !== STREAM_ENTRIES) {
      reader.skip(tag & 7);
      continue;
    }
    const end = reader.lengthDelimited();
    const from = reader.payloadStart;
    const isClean = !hasUnforwardedEntryField(entry.reset(from, end));
    parts.push(isClean ? payload.subarray(start, end) : encodeLengthDelimited(STREAM_ENTRIES, rebuildEntry(payload.subarray(from, end))));
  }
  return Buffer.concat(parts);
}

function rebuildEntry(entry: Buffer): Buffer {
  const parts: Buffer[] = [];
  const reader = new WireReader(entry, 'entry');
  while (reader.hasMore()) {
    const start = reader.pos;
    const tag = reader.tag();
    reader.skip(tag & 7);
    if (isForwardedEntryField(tag >>> 3)) parts.push(entry.subarray(start, reader.pos));
  }
  return Buffer.concat(parts);
}

/** Known fields here are all length-delimited (the stream hash is checked by its caller). */
function expectWireType(tag: number, number: number, where: string): void {
  if ((tag & 7) !== LENGTH_DELIMITED) throw wrongWireType(number, where);
}

function wrongWireType(number: number, where: string): UnsupportedInput {
  return new UnsupportedInput(`malformed protobuf: ${where} field ${number} has the wrong wire type`);
}
