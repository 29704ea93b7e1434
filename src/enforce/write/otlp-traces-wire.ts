/**
 * OTLP's protobuf trace export (`ExportTraceServiceRequest`, opentelemetry-proto
 * collector/trace/v1/trace_service.proto) read at the wire level, only as deep as the resource attributes:
 * spans are never decoded.
 *
 * - ExportTraceServiceRequest: 1 = resource_spans (repeated ResourceSpans).
 * - ResourceSpans: 1 = resource (Resource), 2 = scope_spans, 3 = schema_url.
 * - Resource: 1 = attributes (repeated KeyValue), 2 = dropped_attributes_count (varint).
 * - KeyValue: 1 = key (string), 2 = value (AnyValue).
 * - AnyValue, a oneof: 1 = string_value, 2 = bool, 3 = int, 4 = double, 5 = array, 6 = kvlist, 7 = bytes.
 *
 * Read as Go's generated decoders read it, and stricter wherever the two could differ:
 * - A message field that occurs twice is merged by Go: every `resource` of one ResourceSpans counts, their
 *   attributes taken together (a key repeated with different values is then not a string), and every
 *   `value` of one KeyValue counts: a value is a string only when all its occurrences hold exactly one oneof
 *   field, `string_value` (Go would keep the last; we do not guess).
 * - A KeyValue with its `key` twice (Go keeps the last) → UnsupportedInput.
 * - A known field with the wrong wire type, and everything protobuf-wire-reader.ts refuses → UnsupportedInput.
 * - Keys and string values must be valid UTF-8 (Go's proto3 decoders refuse anything else).
 * - Unknown fields are skipped, as Go does.
 */
import { UnsupportedInput } from '../errors.js';
import { addResourceAttribute, type ResourceAttributes } from '../traceql/resource-attributes.js';
import { FIXED64, LENGTH_DELIMITED, VARINT, WireReader } from './protobuf-wire-reader.js';
import { STRICT_UTF8 } from '../utf8.js';

const REQUEST_RESOURCE_SPANS = 1;
const RESOURCE_SPANS_RESOURCE = 1;
const RESOURCE_ATTRIBUTES = 1;
const KEY_VALUE_KEY = 1;
const KEY_VALUE_VALUE = 2;
const ANY_VALUE_STRING = 1;

/** Wire types of known fields that are not read, by message (field number → wire type). */
const RESOURCE_SPANS_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, LENGTH_DELIMITED],
  [2, LENGTH_DELIMITED],
  [3, LENGTH_DELIMITED],
]);
const RESOURCE_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, LENGTH_DELIMITED],
  [2, VARINT],
]);
const KEY_VALUE_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, LENGTH_DELIMITED],
  [2, LENGTH_DELIMITED],
]);
const ANY_VALUE_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, LENGTH_DELIMITED],
  [2, VARINT],
  [3, VARINT],
  [4, FIXED64],
  [5, LENGTH_DELIMITED],
  [6, LENGTH_DELIMITED],
  [7, LENGTH_DELIMITED],
]);

/** The cursors of one read, one per message depth (each is re-targeted at the message being read). */
interface Readers {
  readonly resourceSpans: WireReader;
  readonly resource: WireReader;
  readonly keyValue: WireReader;
  readonly anyValue: WireReader;
}

/**
 * Reads the resource attributes of every ResourceSpans of a (decompressed) ExportTraceServiceRequest, in
 * order. Malformed bytes → UnsupportedInput.
 */
export function readTraceResources(message: Buffer): ResourceAttributes[] {
  const request = new WireReader(message, 'export request');
  const readers: Readers = {
    resourceSpans: new WireReader(message, 'resource spans'),
    resource: new WireReader(message, 'resource'),
    keyValue: new WireReader(message, 'attribute'),
    anyValue: new WireReader(message, 'attribute value'),
  };
  const resources: ResourceAttributes[] = [];
  while (request.hasMore()) {
    const tag = request.tag();
    if (tag >>> 3 !== REQUEST_RESOURCE_SPANS) {
      request.skip(tag & 7);
      continue;
    }
    expectWireType(tag, LENGTH_DELIMITED, 'export request');
    const end = request.lengthDelimited();
    resources.push(readResourceSpans(message, readers.resourceSpans.reset(request.payloadStart, end), readers));
  }
  return resources;
}

/** Every `resource` field of one ResourceSpans, attributes taken together (Go merges repeated messages). */
function readResourceSpans(message: Buffer, reader: WireReader, readers: Readers): ResourceAttributes {
  const attributes: ResourceAttributes = new Map();
  while (reader.hasMore()) {
    const tag = reader.tag();
    const number = tag >>> 3;
    checkKnownField(tag, RESOURCE_SPANS_FIELDS, 'resource spans');
    if (number !== RESOURCE_SPANS_RESOURCE) {
      reader.skip(tag & 7);
      continue;
    }
    const end = reader.lengthDelimited();
    readResource(message, readers.resource.reset(reader.payloadStart, end), readers, attributes);
  }
  return attributes;
}

function readResource(message: Buffer, reader: WireReader, readers: Readers, attributes: ResourceAttributes): void {
  while (reader.hasMore()) {
    const tag = reader.tag();
    checkKnownField(tag, RESOURCE_FIELDS, 'resource');
    if (tag >>> 3 !== RESOURCE_ATTRIBUTES) {
      reader.skip(tag & 7);
      continue;
    }
    const end = reader.lengthDelimited();
    const { key, value } = readKeyValue(message, readers.keyValue.reset(reader.payloadStart, end), readers.anyValue);
    addResourceAttribute(attributes, key, value);
  }
}

/** One KeyValue: its key (empty when absent, as Go's default) and its value when that is one string. */
function readKeyValue(message: Buffer, reader: WireReader, anyValue: WireReader): { key: string; value: string | undefined } {
  let key: string | undefined;
  const oneofFields: { number: number; text: string | undefined }[] = [];
  while (reader.hasMore()) {
    const tag = reader.tag();
    const number = tag >>> 3;
    checkKnownField(tag, KEY_VALUE_FIELDS, 'attribute');
    if (number !== KEY_VALUE_KEY && number !== KEY_VALUE_VALUE) {
      reader.skip(tag & 7);
      continue;
    }
    const end = reader.lengthDelimited();
    const from = reader.payloadStart;
    if (number === KEY_VALUE_KEY) {
      if (key !== undefined) throw new UnsupportedInput('malformed protobuf: attribute key repeated');
      key = decodeUtf8(message.subarray(from, end), 'attribute key');
    } else {
      readAnyValue(message, anyValue.reset(from, end), oneofFields);
    }
  }
  const [only, ...rest] = oneofFields;
  const value = only !== undefined && rest.length === 0 && only.number === ANY_VALUE_STRING ? only.text : undefined;
  return { key: key ?? '', value };
}

/** Appends the oneof fields of one AnyValue occurrence (with the text of a `string_value`). */
function readAnyValue(message: Buffer, reader: WireReader, out: { number: number; text: string | undefined }[]): void {
  while (reader.hasMore()) {
    const tag = reader.tag();
    const number = tag >>> 3;
    checkKnownField(tag, ANY_VALUE_FIELDS, 'attribute value');
    if (number !== ANY_VALUE_STRING) {
      reader.skip(tag & 7);
      if (ANY_VALUE_FIELDS.has(number)) out.push({ number, text: undefined });
      continue;
    }
    const end = reader.lengthDelimited();
    out.push({ number, text: decodeUtf8(message.subarray(reader.payloadStart, end), 'attribute string value') });
  }
}

/** A known field must come with its wire type; unknown fields pass (the caller skips them). */
function checkKnownField(tag: number, known: ReadonlyMap<number, number>, where: string): void {
  const wireType = known.get(tag >>> 3);
  if (wireType !== undefined) expectWireType(tag, wireType, where);
}

function expectWireType(tag: number, wireType: number, where: string): void {
  if ((tag & 7) !== wireType) throw new UnsupportedInput(`malformed protobuf: ${where} field ${tag >>> 3} has the wrong wire type`);
}

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new UnsupportedInput(`malformed protobuf: ${what} is not valid UTF-8`);
  }
}
