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
import { AsciiWords } from '../ascii-words.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { isWellFormedUtf8 } from '../utf8.js';
import { ByteSink, varintSize } from './byte-sink.js';
import { countLengthDelimitedFields, LENGTH_DELIMITED, WireReader } from './protobuf-wire-reader.js';
import { compareBytes, findSlot, isValueAllowed, type WritePolicy, type WriteRule } from './write-rules.js';

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
 * Checks every series of a decompressed WriteRequest against `policy` (see remote-write.ts for the contract).
 * @throws PolicyViolation for a refused series, UnsupportedInput for malformed bytes.
 */
export function enforceWriteRequestV1(message: Buffer, policy: WritePolicy, inject: boolean): WriteEnforcement {
  const request = new WireReader(message, 'write request');
  const series = new WireReader(message, 'time series');
  const label = new WireReader(message, 'label');
  const hits = new LabelHits(policy.names.length);
  const ascii = new AsciiWords(message);
  let sink: ByteSink | undefined;
  let writer: InjectedSeriesWriter | undefined;
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
    scanSeriesLabels(message, series.reset(start, end), end, label, policy, hits, ascii);
    if (!checkSeries(message, start, end, policy, hits, inject)) continue;
    sink ??= new ByteSink(message.length + (message.length >>> 3));
    writer ??= new InjectedSeriesWriter(message, policy);
    sink.copyFrom(message, copied, fieldStart);
    writer.write(sink, start, end, hits);
    copied = end;
  }
  if (sink === undefined) return { message: undefined, seriesCount };
  sink.copyFrom(message, copied, message.length);
  return { message: sink.bytes(), seriesCount };
}

/** Counts the series of a decompressed WriteRequest, as strictly as the enforcer reads the top level. */
export function countWriteRequestSeries(message: Buffer): number {
  return countLengthDelimitedFields(new WireReader(message, 'write request'), TIMESERIES, () => wrongWireType('time series'));
}

/** Per request, reused per series: what the series holds of each policy label (by slot). */
class LabelHits {
  readonly count: Int32Array;
  readonly valueStart: Int32Array;
  readonly valueEnd: Int32Array;
  readonly inject: Uint8Array;
  constructor(slots: number) {
    this.count = new Int32Array(slots);
    this.valueStart = new Int32Array(slots);
    this.valueEnd = new Int32Array(slots);
    this.inject = new Uint8Array(slots);
  }
}

/**
 * Reads the series' labels and records, per policy label, how often it appears and its value's span. The usual
 * labels (name then value, one-byte lengths) are checked for UTF-8 a run of consecutive label fields at a time
 * (checkLabelRun); any other label string by string.
 */
function scanSeriesLabels(
  message: Buffer,
  series: WireReader,
  seriesEnd: number,
  label: WireReader,
  policy: WritePolicy,
  hits: LabelHits,
  ascii: AsciiWords,
): void {
  for (let slot = 0; slot < hits.count.length; slot++) hits.count[slot] = 0;
  let runStart = -1;
  let runEnd = -1;
  let pos = series.pos;
  while (pos < seriesEnd) {
    // The usual label field, read here byte by byte: its tag, then name and value, every length one byte, the
    // two strings filling the field. Its UTF-8 is checked with the run of usual labels it belongs to (a length
    // byte of 0x80 or more would be a longer varint: such a label is read by the general path below).
    if (message[pos] === TAG_LABELS) {
      const length = message[pos + 1] as number;
      const start = pos + 2;
      const end = start + length;
      const nameLength = message[start + 1] as number;
      const nameEnd = start + 2 + nameLength;
      const valueLength = message[nameEnd + 1] as number;
      if (
        length < 0x80 &&
        end <= seriesEnd &&
        message[start] === TAG_LABEL_NAME &&
        nameLength < 0x80 &&
        nameEnd + 2 <= end &&
        message[nameEnd] === TAG_LABEL_VALUE &&
        valueLength < 0x80 &&
        nameEnd + 2 + valueLength === end
      ) {
        if (pos !== runEnd) {
          checkLabelRun(message, ascii, runStart, runEnd);
          runStart = pos;
        }
        runEnd = end;
        recordLabel(message, policy, hits, start + 2, nameEnd, nameEnd + 2, end);
        pos = end;
        continue;
      }
    }
    series.pos = pos;
    scanOtherField(message, series, label, policy, hits);
    pos = series.pos;
  }
  checkLabelRun(message, ascii, runStart, runEnd);
}

/** Any field of a series but a usual label (scanSeriesLabels): another field is skipped, a label read field by field. */
function scanOtherField(message: Buffer, series: WireReader, label: WireReader, policy: WritePolicy, hits: LabelHits): void {
  const tag = series.tag();
  if (tag >>> 3 !== LABELS) {
    series.skip(tag & 7);
    return;
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
  recordLabel(message, policy, hits, nameStart, nameEnd, valueStart, valueEnd);
}

/**
 * The UTF-8 of a run of consecutive usual label fields `[start, end)` (none when `start` is -1). All ASCII (tags
 * and lengths are ASCII too) is the usual case and settles it; else each label is checked alone, name and value
 * in one pass (the value's tag and length byte between them are ASCII, so no sequence can span them, and a length
 * byte of 0x80 or more is refused there as it was when the label was read on its own).
 */
function checkLabelRun(message: Buffer, ascii: AsciiWords, start: number, end: number): void {
  if (start < 0 || ascii.isAscii(start, end)) return;
  const run = new WireReader(message, 'label', start, end);
  while (run.hasMore()) {
    run.tag();
    const labelEnd = run.lengthDelimited();
    if (!isWellFormedUtf8(message, run.payloadStart, labelEnd)) throw new UnsupportedInput('label is not valid UTF-8');
  }
}

function recordLabel(
  message: Buffer,
  policy: WritePolicy,
  hits: LabelHits,
  nameStart: number,
  nameEnd: number,
  valueStart: number,
  valueEnd: number,
): void {
  const slot = findSlot(policy, message, nameStart, nameEnd);
  if (slot < 0) return;
  hits.count[slot] = (hits.count[slot] as number) + 1;
  hits.valueStart[slot] = valueStart;
  hits.valueEnd[slot] = valueEnd;
}

/** Returns whether labels must be injected (marked in `hits.inject`); throws when the series is refused. */
function checkSeries(message: Buffer, start: number, end: number, policy: WritePolicy, hits: LabelHits, inject: boolean): boolean {
  if (inject) hits.inject.fill(0);
  if (policy.selectors.length > 1) {
    checkSeriesUnion(message, start, end, policy, hits);
    return false;
  }
  let injects = false;
  for (const rule of policy.selectors[0] as readonly WriteRule[]) {
    const slot = rule.slot;
    const count = hits.count[slot] as number;
    if (count > 1) throw violation(message, start, end, `label "${rule.label}" appears more than once`);
    const valueStart = hits.valueStart[slot] as number;
    const valueEnd = hits.valueEnd[slot] as number;
    // An empty value counts as missing: Prometheus drops empty labels.
    if (count === 1 && valueEnd > valueStart) {
      if (!isValueAllowed(rule, message, valueStart, valueEnd))
        throw violation(message, start, end, `label "${rule.label}" value not allowed`);
      continue;
    }
    if (!inject || policy.injectables[slot] === undefined) throw violation(message, start, end, `label "${rule.label}" is missing`);
    hits.inject[slot] = 1;
    injects = true;
  }
  return injects;
}

/**
 * Under several selectors: the series must satisfy one (each of its labels present once, non-empty, allowed); a
 * policy label present twice is refused whichever selector names it; nothing is injected.
 */
function checkSeriesUnion(message: Buffer, start: number, end: number, policy: WritePolicy, hits: LabelHits): void {
  for (let slot = 0; slot < policy.labels.length; slot++) {
    if ((hits.count[slot] as number) > 1) throw violation(message, start, end, `label "${policy.labels[slot]}" appears more than once`);
  }
  for (const selector of policy.selectors) if (satisfies(message, selector, hits)) return;
  throw violation(message, start, end, 'labels not allowed by any selector of the label policy');
}

function satisfies(message: Buffer, selector: readonly WriteRule[], hits: LabelHits): boolean {
  for (const rule of selector) {
    const slot = rule.slot;
    const valueStart = hits.valueStart[slot] as number;
    const valueEnd = hits.valueEnd[slot] as number;
    if (hits.count[slot] !== 1 || valueEnd <= valueStart || !isValueAllowed(rule, message, valueStart, valueEnd)) return false;
  }
  return true;
}

/**
 * Writes series with the marked labels added: every label field, re-sorted by name (the spec requires sorted
 * labels), an empty-valued label of an added name replaced rather than duplicated, then every other field byte
 * for byte in its order. Made once per request at the first injection; only the touched series are read a second
 * time, into scratch arrays reused from series to series (a label is 5 numbers: start, end, name start, name end,
 * and the policy label (slot) it was injected for, or -1 for one of the message).
 */
class InjectedSeriesWriter {
  /** Per injectable policy label (slot), its label field `{name, value}` and the span of the name in it. */
  private readonly fields: (Buffer | undefined)[];
  private readonly nameStarts: Int32Array;
  private labels = new Int32Array(5 * 16);
  private order = new Int32Array(16);
  private others = new Int32Array(16);
  private readonly series: WireReader;
  private readonly label: WireReader;

  constructor(
    private readonly message: Buffer,
    private readonly policy: WritePolicy,
  ) {
    this.nameStarts = new Int32Array(policy.names.length);
    this.fields = policy.injectables.map((value, slot) =>
      value === undefined ? undefined : this.encodeLabelField(policy.names[slot] as Buffer, value, slot),
    );
    this.series = new WireReader(message, 'time series');
    this.label = new WireReader(message, 'label');
  }

  write(sink: ByteSink, start: number, end: number, hits: LabelHits): void {
    const { message, policy } = this;
    let labelCount = 0;
    let otherCount = 0;
    let length = 0;
    const series = this.series.reset(start, end);
    while (series.hasMore()) {
      const fieldStart = series.pos;
      const tag = series.tag();
      series.skip(tag & 7);
      const fieldEnd = series.pos;
      length += fieldEnd - fieldStart;
      if (tag !== TAG_LABELS) {
        if (2 * otherCount + 2 > this.others.length) this.others = growInt32(this.others);
        this.others[2 * otherCount] = fieldStart;
        this.others[2 * otherCount + 1] = fieldEnd;
        otherCount++;
        continue;
      }
      const nameEnd = this.readLabelName(fieldStart, fieldEnd);
      const nameStart = this.label.payloadStart;
      const slot = findSlot(policy, message, nameStart, nameEnd);
      if (slot >= 0 && hits.inject[slot] === 1) {
        length -= fieldEnd - fieldStart;
        continue;
      }
      labelCount = this.addLabel(labelCount, fieldStart, fieldEnd, nameStart, nameEnd, -1);
    }
    for (let slot = 0; slot < policy.names.length; slot++) {
      if (hits.inject[slot] !== 1) continue;
      const field = this.fields[slot] as Buffer;
      const nameStart = this.nameStarts[slot] as number;
      labelCount = this.addLabel(labelCount, 0, field.length, nameStart, nameStart + (policy.names[slot] as Buffer).length, slot);
      length += field.length;
    }
    this.sortLabels(labelCount);
    sink.byte((TIMESERIES << 3) | LENGTH_DELIMITED);
    sink.varint(length);
    for (let i = 0; i < labelCount; i++) {
      const at = 5 * (this.order[i] as number);
      const slot = this.labels[at + 4] as number;
      sink.copyFrom(slot < 0 ? message : (this.fields[slot] as Buffer), this.labels[at] as number, this.labels[at + 1] as number);
    }
    for (let i = 0; i < otherCount; i++) sink.copyFrom(message, this.others[2 * i] as number, this.others[2 * i + 1] as number);
  }

  /** Reads the label field `message[start, end)`; returns the end of its last name (its start is `label.payloadStart`). */
  private readLabelName(start: number, end: number): number {
    const label = this.label.reset(start, end);
    label.tag();
    const payloadEnd = label.lengthDelimited();
    label.reset(label.payloadStart, payloadEnd);
    let nameStart = 0;
    let nameEnd = 0;
    while (label.hasMore()) {
      const tag = label.tag();
      if (tag !== TAG_LABEL_NAME) {
        label.skip(tag & 7);
        continue;
      }
      nameEnd = label.lengthDelimited();
      nameStart = label.payloadStart;
    }
    label.payloadStart = nameStart;
    return nameEnd;
  }

  private addLabel(count: number, start: number, end: number, nameStart: number, nameEnd: number, slot: number): number {
    if (5 * count + 5 > this.labels.length) this.labels = growInt32(this.labels);
    if (count + 1 > this.order.length) this.order = growInt32(this.order);
    const at = 5 * count;
    this.labels[at] = start;
    this.labels[at + 1] = end;
    this.labels[at + 2] = nameStart;
    this.labels[at + 3] = nameEnd;
    this.labels[at + 4] = slot;
    this.order[count] = count;
    return count + 1;
  }

  /** Insertion sort of `order` by name bytes: stable, and a series holds a dozen labels, already nearly sorted. */
  private sortLabels(count: number): void {
    for (let i = 1; i < count; i++) {
      const current = this.order[i] as number;
      let j = i - 1;
      while (j >= 0 && this.compareNames(this.order[j] as number, current) > 0) {
        this.order[j + 1] = this.order[j] as number;
        j--;
      }
      this.order[j + 1] = current;
    }
  }

  private compareNames(a: number, b: number): number {
    const { labels } = this;
    const ra = labels[5 * a + 4] as number;
    const rb = labels[5 * b + 4] as number;
    return compareBytes(
      ra < 0 ? this.message : (this.fields[ra] as Buffer),
      labels[5 * a + 2] as number,
      labels[5 * a + 3] as number,
      rb < 0 ? this.message : (this.fields[rb] as Buffer),
      labels[5 * b + 2] as number,
      labels[5 * b + 3] as number,
    );
  }

  /** The label field `{name, value}` of an injectable policy label (an empty value is not written, as proto3 does). */
  private encodeLabelField(name: Buffer, value: Buffer, slot: number): Buffer {
    const inner = 1 + varintSize(name.length) + name.length + (value.length === 0 ? 0 : 1 + varintSize(value.length) + value.length);
    const sink = new ByteSink(inner + 6);
    sink.byte(TAG_LABELS);
    sink.varint(inner);
    sink.byte(TAG_LABEL_NAME);
    sink.varint(name.length);
    this.nameStarts[slot] = sink.length;
    sink.copyFrom(name, 0, name.length);
    if (value.length > 0) {
      sink.byte(TAG_LABEL_VALUE);
      sink.varint(value.length);
      sink.copyFrom(value, 0, value.length);
    }
    return sink.bytes();
  }
}

function growInt32(array: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(array.length * 2);
  grown.set(array);
  return grown;
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
