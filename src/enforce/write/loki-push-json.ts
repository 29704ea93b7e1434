/**
 * Loki's JSON push body (`{"streams":[{"stream":{labels},"values":[[ts, line, {metadata}?]]}]}`, Loki HTTP
 * API "Ingest logs"), read in full: for a body outside the plain form loki-push-json-scan.ts reads from its
 * bytes. Parsed into a strict shape and re-serialised with canonical keys only, so duplicate keys,
 * differently-cased keys (Go's JSON decoders match field names case-insensitively) and unknown fields cannot
 * make Loki read a stream other than the one that was checked. `assertReadableLabels` then refuses what Loki
 * would read differently from `JSON.parse` inside a label set: names that are not identifiers, lone surrogates.
 */
import { UnsupportedInput } from '../errors.js';
import { readGoField } from '../go-json.js';

/**
 * A label name Loki can read back: it unescapes a JSON label name twice (jsonparser's `ObjectEach`, then
 * `ParseString` in `LabelSet.UnmarshalJSON`: `"\\u006eamespace"` becomes `namespace`) and writes names unquoted
 * into the label-set text its distributor parses again, so only the PromQL identifier is read the same.
 */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A UTF-16 surrogate not part of a pair (with the `u` flag, paired ones are one code point). */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

export interface JsonPushStream {
  labels: Map<string, string>;
  readonly values: readonly unknown[];
}

/** Parses a JSON push body; throws `UnsupportedInput` for anything outside Loki's documented shape. */
export function decodeJsonPush(body: Buffer): JsonPushStream[] {
  let root: unknown;
  try {
    root = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UnsupportedInput('push body is not valid JSON');
  }
  const streams = readField(asObject(root, 'push body'), 'streams', 'push body');
  if (streams === undefined || streams === null) return [];
  if (!Array.isArray(streams)) throw new UnsupportedInput('"streams" must be an array');
  return streams.map((stream: unknown, i: number) => decodeStream(stream, i));
}

function decodeStream(stream: unknown, index: number): JsonPushStream {
  const where = `stream #${index}`;
  const object = asObject(stream, where);
  const labelsField = readField(object, 'stream', where) ?? {};
  const labels = new Map<string, string>();
  for (const [name, value] of Object.entries(asObject(labelsField, `${where} labels`))) {
    if (typeof value !== 'string') throw new UnsupportedInput(`${where}: label "${name}" must be a string`);
    labels.set(name, value);
  }
  const values = readField(object, 'values', where) ?? [];
  if (!Array.isArray(values)) throw new UnsupportedInput(`${where}: "values" must be an array`);
  for (const entry of values as unknown[]) assertEntry(entry, where);
  return { labels, values };
}

/** `[ "<ns timestamp>", "<line>" ]` or with a flat string→string structured-metadata object third. */
function assertEntry(entry: unknown, where: string): void {
  const isShape =
    Array.isArray(entry) && (entry.length === 2 || entry.length === 3) && typeof entry[0] === 'string' && typeof entry[1] === 'string';
  if (!isShape) throw new UnsupportedInput(`${where}: each value must be ["<timestamp>", "<line>", {metadata}?]`);
  if (entry.length === 3) {
    const metadata = asObject(entry[2], `${where} structured metadata`);
    if (!Object.values(metadata).every((v) => typeof v === 'string')) {
      throw new UnsupportedInput(`${where}: structured metadata values must be strings`);
    }
  }
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnsupportedInput(`${where} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The field as Go reads it (go-json.ts: case-insensitive, Unicode folding); two spellings are refused. */
function readField(object: Record<string, unknown>, name: string, where: string): unknown {
  return readGoField(object, name, where);
}

/** One stream's labels as a JSON object (`{"name":"value",…}`, in the map's order). */
export function encodeJsonLabels(labels: ReadonlyMap<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.fromEntries(labels)), 'utf8');
}

/**
 * Refuses labels Loki would not read back as they are: a name that is not an identifier, a value holding a lone
 * surrogate (which Go's decoders turn into U+FFFD). Run by the enforcer on what it is about to check.
 * @throws UnsupportedInput naming the stream.
 */
export function assertReadableLabels(streams: readonly JsonPushStream[]): void {
  for (const [index, stream] of streams.entries()) {
    for (const [name, value] of stream.labels) {
      if (!LABEL_NAME.test(name)) {
        throw new UnsupportedInput(`stream #${index}: label name ${JSON.stringify(name)} must match [a-zA-Z_][a-zA-Z0-9_]*`);
      }
      if (LONE_SURROGATE.test(value)) throw new UnsupportedInput(`stream #${index}: label "${name}" holds a lone UTF-16 surrogate`);
    }
  }
}

/** Serialises streams with canonical keys only. */
export function encodeJsonPush(streams: readonly JsonPushStream[]): Buffer {
  const out = {
    streams: streams.map((s) => ({ stream: Object.fromEntries(s.labels), values: s.values })),
  };
  return Buffer.from(JSON.stringify(out), 'utf8');
}
