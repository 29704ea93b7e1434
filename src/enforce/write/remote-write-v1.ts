/**
 * Remote write 1.0 (`prometheus.WriteRequest`, prometheus/prompb remote.proto and types.proto) read over offsets
 * into the one decompressed buffer: no object, view or string per field. Label names are compared with the
 * policy's as bytes; a value is decoded only for a regex rule, and a series' metric name only for an error.
 *
 * - WriteRequest: 1 = timeseries (repeated TimeSeries); every other field (3 = metadata, the reserved 2) is
 *   carried as its bytes.
 * - TimeSeries: 1 = labels (repeated Label); samples (2), exemplars (3), histograms (4) and anything else are
 *   carried as their bytes.
 * - Label: 1 = name, 2 = value (strings; a repeated one: the last counts, as in Go); other fields skipped.
 * - Strict (malformed → UnsupportedInput, 400): a timeseries, label, name or value field of another wire type,
 *   every WireReader refusal (truncated fields, overlong varints, groups, field number 0), and a label name or
 *   value that is not well-formed UTF-8 (proto3 strings; Prometheus refuses them too).
 */
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { isWellFormedUtf8 } from '../utf8.js';
import { ByteSink, varintSize } from './byte-sink.js';
import { LENGTH_DELIMITED, WireReader } from './protobuf-wire-reader.js';
import { compareBytes, findRule, isValueAllowed, type WriteRule } from './write-rules.js';

const TIMESERIES = 1;
const LABELS = 1;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
const TAG_LABELS = (LABELS << 3) | LENGTH_DELIMITED;
const TAG_LABEL_NAME = (LABEL_NAME << 3) | LENGTH_DELIMITED;
const TAG_LABEL_VALUE = (LABEL_VALUE << 3) | LENGTH_DELIMITED;

export interface WriteEnforcement {
  /** The rebuilt message when labels were added; undefined when the input passes unchanged. */
  readonly message: Buffer | undefined;
  readonly seriesCount: number;
}

/**
 * Checks every series of a decompressed WriteRequest against `rules` (see remote-write.ts for the contract).
 * @throws PolicyViolation for a refused series, UnsupportedInput for malformed bytes.
 */
export function enforceWriteRequestV1(message: Buffer, rules: readonly WriteRule[], inject: boolean): WriteEnforcement {
  const request = new WireReader(message, 'write request');
  const series = new WireReader(message, 'time series');
  const label = new WireReader(message, 'label');
  const hits = new RuleHits(rules.length);
  const injected = inject ? rules.map((rule) => (rule.injectable === undefined ? undefined : encodeLabelField(rule))) : [];
  let sink: ByteSink | undefined;
  let copied = 0;
  let seriesCount = 0;
  while (request.hasMore()) {
    const fieldStart = request.pos;
    const tag = request.tag();
    if (tag >>> 3 !== TIMESERIES) {
      request.skip(tag & 7);
      continue;
    }
    if ((tag & 7) !== LENGTH_DELIMITED) throw wrongWireType('time series');
    const end = request.lengthDelimited();
    const start = request.payloadStart;
    seriesCount++;
    scanSeriesLabels(message, series.reset(start, end), label, rules, hits);
    if (!checkSeries(message, start, end, rules, hits, inject)) continue;
    sink ??= new ByteSink(message.length + (message.length >>> 3));
    sink.copyFrom(message, copied, fieldStart);
    writeInjectedSeries(sink, message, start, end, rules, hits, injected);
    copied = end;
  }
  if (sink === undefined) return { message: undefined, seriesCount };
  sink.copyFrom(message, copied, message.length);
  return { message: sink.bytes(), seriesCount };
}

/** Counts the series of a decompressed WriteRequest, as strictly as the enforcer reads the top level. */
export function countWriteRequestSeries(message: Buffer): number {
  const request = new WireReader(message, 'write request');
  let count = 0;
  while (request.hasMore()) {
    const tag = request.tag();
    if (tag === ((TIMESERIES << 3) | LENGTH_DELIMITED)) count++;
    else if (tag >>> 3 === TIMESERIES) throw wrongWireType('time series');
    request.skip(tag & 7);
  }
  return count;
}

/** Per request, reused per series: what the series holds of each rule's label. */
class RuleHits {
  readonly count: Int32Array;
  readonly valueStart: Int32Array;
  readonly valueEnd: Int32Array;
  readonly inject: Uint8Array;
  constructor(rules: number) {
    this.count = new Int32Array(rules);
    this.valueStart = new Int32Array(rules);
    this.valueEnd = new Int32Array(rules);
    this.inject = new Uint8Array(rules);
  }
}

/** Reads the series' labels and records, per rule, how often its label appears and its value's span. */
function scanSeriesLabels(message: Buffer, series: WireReader, label: WireReader, rules: readonly WriteRule[], hits: RuleHits): void {
  hits.count.fill(0);
  while (series.hasMore()) {
    const tag = series.tag();
    if (tag >>> 3 !== LABELS) {
      series.skip(tag & 7);
      continue;
    }
    if (tag !== TAG_LABELS) throw wrongWireType('label');
    const end = series.lengthDelimited();
    label.reset(series.payloadStart, end);
    let nameStart = 0;
    let nameEnd = 0;
    let valueStart = 0;
    let valueEnd = 0;
    while (label.hasMore()) {
      const fieldTag = label.tag();
      const number = fieldTag >>> 3;
      if (number !== LABEL_NAME && number !== LABEL_VALUE) {
        label.skip(fieldTag & 7);
        continue;
      }
      if ((fieldTag & 7) !== LENGTH_DELIMITED) throw wrongWireType('label name or value');
      const stringEnd = label.lengthDelimited();
      const stringStart = label.payloadStart;
      if (!isWellFormedUtf8(message, stringStart, stringEnd)) throw new UnsupportedInput('label is not valid UTF-8');
      if (number === LABEL_NAME) {
        nameStart = stringStart;
        nameEnd = stringEnd;
      } else {
        valueStart = stringStart;
        valueEnd = stringEnd;
      }
    }
    const rule = findRule(rules, message, nameStart, nameEnd);
    if (rule < 0) continue;
    hits.count[rule] = (hits.count[rule] as number) + 1;
    hits.valueStart[rule] = valueStart;
    hits.valueEnd[rule] = valueEnd;
  }
}

/** Returns whether labels must be injected (marked in `hits.inject`); throws when the series is refused. */
function checkSeries(message: Buffer, start: number, end: number, rules: readonly WriteRule[], hits: RuleHits, inject: boolean): boolean {
  let injects = false;
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r] as WriteRule;
    const count = hits.count[r] as number;
    hits.inject[r] = 0;
    if (count > 1) throw violation(message, start, end, `label "${rule.label}" appears more than once`);
    const valueStart = hits.valueStart[r] as number;
    const valueEnd = hits.valueEnd[r] as number;
    // An empty value counts as missing: Prometheus drops empty labels.
    if (count === 1 && valueEnd > valueStart) {
      if (!isValueAllowed(rule, message, valueStart, valueEnd)) throw violation(message, start, end, `label "${rule.label}" value not allowed`);
      continue;
    }
    if (!inject || rule.injectable === undefined) throw violation(message, start, end, `label "${rule.label}" is missing`);
    hits.inject[r] = 1;
    injects = true;
  }
  return injects;
}

/** A label field of the rebuilt series: `bytes[start, end)`, its name at `bytes[nameStart, nameEnd)`. */
interface LabelSpan {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  readonly nameStart: number;
  readonly nameEnd: number;
}

/**
 * Writes the series with the marked labels added: every label field, re-sorted by name (the spec requires
 * sorted labels), an empty-valued label of an added name replaced rather than duplicated, then every other
 * field byte for byte in its order. Only this series is read a second time.
 */
function writeInjectedSeries(
  sink: ByteSink, message: Buffer, start: number, end: number, rules: readonly WriteRule[], hits: RuleHits, injected: readonly (LabelSpan | undefined)[],
): void {
  const labels: LabelSpan[] = [];
  const others: number[] = [];
  const series = new WireReader(message, 'time series', start, end);
  const label = new WireReader(message, 'label');
  while (series.hasMore()) {
    const fieldStart = series.pos;
    const tag = series.tag();
    series.skip(tag & 7);
    if (tag !== TAG_LABELS) {
      others.push(fieldStart, series.pos);
      continue;
    }
    const span = readLabelNameSpan(message, fieldStart, series.pos, label);
    const rule = findRule(rules, message, span.nameStart, span.nameEnd);
    if (rule >= 0 && hits.inject[rule] === 1) continue;
    labels.push(span);
  }
  for (let r = 0; r < rules.length; r++) if (hits.inject[r] === 1) labels.push(injected[r] as LabelSpan);
  labels.sort((a, b) => compareBytes(a.bytes, a.nameStart, a.nameEnd, b.bytes, b.nameStart, b.nameEnd));
  let length = 0;
  for (const l of labels) length += l.end - l.start;
  for (let i = 0; i < others.length; i += 2) length += (others[i + 1] as number) - (others[i] as number);
  sink.byte((TIMESERIES << 3) | LENGTH_DELIMITED);
  sink.varint(length);
  for (const l of labels) sink.copyFrom(l.bytes, l.start, l.end);
  for (let i = 0; i < others.length; i += 2) sink.copyFrom(message, others[i] as number, others[i + 1] as number);
}

/** The label field `message[start, end)` and the span of its last name. */
function readLabelNameSpan(message: Buffer, start: number, end: number, field: WireReader): LabelSpan {
  field.reset(start, end).tag();
  const payloadEnd = field.lengthDelimited();
  field.reset(field.payloadStart, payloadEnd);
  let nameStart = 0;
  let nameEnd = 0;
  while (field.hasMore()) {
    const tag = field.tag();
    if (tag !== TAG_LABEL_NAME) {
      field.skip(tag & 7);
      continue;
    }
    nameEnd = field.lengthDelimited();
    nameStart = field.payloadStart;
  }
  return { bytes: message, start, end, nameStart, nameEnd };
}

/** The label field `{name, value}` of an injectable rule, with its name's span. */
function encodeLabelField(rule: WriteRule): LabelSpan {
  const name = rule.name;
  const value = rule.injectable as Buffer;
  const inner = 1 + varintSize(name.length) + name.length + (value.length === 0 ? 0 : 1 + varintSize(value.length) + value.length);
  const sink = new ByteSink(inner + 6);
  sink.byte(TAG_LABELS);
  sink.varint(inner);
  sink.byte(TAG_LABEL_NAME);
  sink.varint(name.length);
  const nameStart = sink.length;
  sink.copyFrom(name, 0, name.length);
  const nameEnd = sink.length;
  if (value.length > 0) {
    sink.byte(TAG_LABEL_VALUE);
    sink.varint(value.length);
    sink.copyFrom(value, 0, value.length);
  }
  return { bytes: sink.bytes(), start: 0, end: sink.length, nameStart, nameEnd };
}

/** A refusal naming the series by its metric, decoded only now. */
function violation(message: Buffer, start: number, end: number, what: string): PolicyViolation {
  return new PolicyViolation(`series ${metricName(message, start, end)}: ${what}`);
}

function metricName(message: Buffer, start: number, end: number): string {
  const series = new WireReader(message, 'time series', start, end);
  const label = new WireReader(message, 'label');
  while (series.hasMore()) {
    const tag = series.tag();
    if (tag !== TAG_LABELS) {
      series.skip(tag & 7);
      continue;
    }
    const labelEnd = series.lengthDelimited();
    label.reset(series.payloadStart, labelEnd);
    let name = '';
    let value = '';
    while (label.hasMore()) {
      const fieldTag = label.tag();
      if (fieldTag !== TAG_LABEL_NAME && fieldTag !== TAG_LABEL_VALUE) {
        label.skip(fieldTag & 7);
        continue;
      }
      const stringEnd = label.lengthDelimited();
      const text = message.toString('utf8', label.payloadStart, stringEnd);
      if (fieldTag === TAG_LABEL_NAME) name = text;
      else value = text;
    }
    if (name === '__name__') return value;
  }
  return '(no __name__)';
}

function wrongWireType(what: string): UnsupportedInput {
  return new UnsupportedInput(`malformed protobuf: ${what} field of wrong type`);
}
