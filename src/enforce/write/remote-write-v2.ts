/**
 * Remote write 2.0 (`io.prometheus.write.v2.Request`, prometheus/prompb io/prometheus/write/v2/types.proto; the
 * Remote-Write 2.0 specification) read over offsets into the one decompressed buffer, as remote-write-v1.ts reads 1.0.
 *
 * - Request: 4 = symbols (repeated string: the interned strings, in order over the whole message), 5 = timeseries;
 *   1–3 are reserved, anything else is carried as its bytes.
 * - TimeSeries: 1 = labels_refs (repeated uint32, packed or not: name and value references in pairs), 4 = exemplars
 *   (their labels_refs, field 1), 5 = metadata (help_ref 3, unit_ref 4); samples, histograms, created_timestamp
 *   and anything else are carried as their bytes.
 * - Every reference is checked: below the symbol count, and labels_refs of even length → else UnsupportedInput
 *   (400). Symbols must be well-formed UTF-8. A known field of the wrong wire type and every WireReader refusal
 *   are malformed too.
 * - A label's name and value are compared through the symbol table: each symbol is matched against the policy's
 *   label names once per request, and a value symbol judged once per rule, however many series use it (under
 *   several selectors too: each selector reads the same per-series references).
 * - Inject mode adds the rule's name and value to the symbols (right after the last symbols field, reusing a
 *   symbol that already holds the string) and rewrites the series' labels_refs, sorted by name, as one packed field.
 */
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { isWellFormedUtf8 } from '../utf8.js';
import { ByteSink, varintSize } from './byte-sink.js';
import { countLengthDelimitedFields, LENGTH_DELIMITED, VARINT, WireReader } from './protobuf-wire-reader.js';
import type { WriteEnforcement } from './remote-write-v1.js';
import { bytesEqual, compareBytes, findSlot, isValueAllowed, type WritePolicy, type WriteRule } from './write-rules.js';

const SYMBOLS = 4;
const TIMESERIES = 5;
const LABELS_REFS = 1;
const EXEMPLARS = 4;
const METADATA = 5;
const EXEMPLAR_LABELS_REFS = 1;
const METADATA_HELP_REF = 3;
const METADATA_UNIT_REF = 4;
const NO_SLOT = -1;

/**
 * Checks every series of a decompressed v2 Request against `policy` (see remote-write.ts for the contract).
 * @throws PolicyViolation for a refused series, UnsupportedInput for malformed bytes or references.
 */
export function enforceWriteRequestV2(message: Buffer, policy: WritePolicy, inject: boolean): WriteEnforcement {
  const symbols = readSymbols(message);
  const check = new SeriesCheck(message, symbols, policy);
  const request = new WireReader(message, 'request');
  let sink: ByteSink | undefined;
  let added: AddedSymbols | undefined;
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
    const end = request.lengthDelimited();
    const start = request.payloadStart;
    seriesCount++;
    check.scan(start, end);
    if (!check.decide(start, end, inject)) continue;
    if (sink === undefined) {
      sink = new ByteSink(message.length + (message.length >>> 3));
      added = addInjectedSymbols(symbols, policy, message);
      writer = new InjectedSeriesWriter(check, added);
    }
    copied = copyUpTo(sink, message, copied, fieldStart, symbols, added as AddedSymbols);
    (writer as InjectedSeriesWriter).write(sink, start, end);
    copied = end;
  }
  if (sink === undefined) return { message: undefined, seriesCount };
  copyUpTo(sink, message, copied, message.length, symbols, added as AddedSymbols);
  return { message: sink.bytes(), seriesCount };
}

/** Counts the series (field 5) of a decompressed v2 Request. */
export function countRequestV2Series(message: Buffer): number {
  return countLengthDelimitedFields(new WireReader(message, 'request'), TIMESERIES, () => malformed('time series field of wrong type'));
}

/** The symbol table: the span of each symbol, in order. */
interface SymbolTable {
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Where new symbols go: after the last symbols field (0 when there is none). */
  readonly insertAt: number;
}

function readSymbols(message: Buffer): SymbolTable {
  const request = new WireReader(message, 'request');
  let starts = new Int32Array(256);
  let ends = new Int32Array(256);
  let count = 0;
  let insertAt = 0;
  while (request.hasMore()) {
    const tag = request.tag();
    const number = tag >>> 3;
    if (number !== SYMBOLS && number !== TIMESERIES) {
      request.skip(tag & 7);
      continue;
    }
    if ((tag & 7) !== LENGTH_DELIMITED) throw malformed(`${number === SYMBOLS ? 'symbols' : 'time series'} field of wrong type`);
    const end = request.lengthDelimited();
    if (number !== SYMBOLS) continue;
    if (!isWellFormedUtf8(message, request.payloadStart, end)) throw new UnsupportedInput('symbol is not valid UTF-8');
    if (count === starts.length) {
      starts = grow(starts);
      ends = grow(ends);
    }
    starts[count] = request.payloadStart;
    ends[count] = end;
    count++;
    insertAt = end;
  }
  return { count, starts, ends, insertAt };
}

function grow(array: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(array.length * 2);
  grown.set(array);
  return grown;
}

/**
 * Per request, reused per series: which policy label (slot) each symbol names (matched once per symbol), the
 * verdict of each value symbol per rule (judged once), and what the current series holds of each policy label.
 */
class SeriesCheck {
  private readonly slotOf: Int16Array;
  private readonly verdicts: (Uint8Array | undefined)[];
  readonly count: Int32Array;
  readonly valueRef: Int32Array;
  readonly inject: Uint8Array;
  private readonly series: WireReader;
  private readonly inner: WireReader;
  private readonly packed: WireReader;
  private refIndex = 0;
  private nameRef = 0;

  constructor(
    readonly message: Buffer,
    readonly symbols: SymbolTable,
    readonly policy: WritePolicy,
  ) {
    this.slotOf = new Int16Array(symbols.count);
    for (let i = 0; i < symbols.count; i++)
      this.slotOf[i] = findSlot(policy, message, symbols.starts[i] as number, symbols.ends[i] as number);
    this.verdicts = new Array<Uint8Array | undefined>(policy.ruleCount).fill(undefined);
    const slots = policy.names.length;
    this.count = new Int32Array(slots);
    this.valueRef = new Int32Array(slots);
    this.inject = new Uint8Array(slots);
    this.series = new WireReader(message, 'time series');
    this.inner = new WireReader(message, 'time series');
    this.packed = new WireReader(message, 'exemplar');
  }

  /** Reads the series' references, checking each, and records per policy label how often it appears and its value. */
  scan(start: number, end: number): void {
    this.count.fill(0);
    this.refIndex = 0;
    const series = this.series.reset(start, end);
    while (series.hasMore()) {
      const tag = series.tag();
      const number = tag >>> 3;
      if (number === LABELS_REFS) this.readLabelRefs(series, tag);
      else if (number === EXEMPLARS) this.checkExemplar(series, tag);
      else if (number === METADATA) this.checkMetadata(series, tag);
      else series.skip(tag & 7);
    }
    if ((this.refIndex & 1) !== 0) throw malformed('labels_refs of odd length');
  }

  private readLabelRefs(series: WireReader, tag: number): void {
    if ((tag & 7) === VARINT) {
      this.addLabelRef(series.smallVarint());
      return;
    }
    if ((tag & 7) !== LENGTH_DELIMITED) throw malformed('labels_refs field of wrong type');
    const end = series.lengthDelimited();
    const packed = this.inner.reset(series.payloadStart, end);
    while (packed.hasMore()) this.addLabelRef(packed.smallVarint());
  }

  private addLabelRef(ref: number): void {
    if (ref >= this.symbols.count) throw malformed(`symbol reference ${ref} out of range (${this.symbols.count} symbols)`);
    if ((this.refIndex++ & 1) === 0) {
      this.nameRef = ref;
      return;
    }
    const slot = this.slotOf[this.nameRef] as number;
    if (slot === NO_SLOT) return;
    this.count[slot] = (this.count[slot] as number) + 1;
    this.valueRef[slot] = ref;
  }

  private checkExemplar(series: WireReader, tag: number): void {
    if ((tag & 7) !== LENGTH_DELIMITED) throw malformed('exemplar field of wrong type');
    const end = series.lengthDelimited();
    const exemplar = this.inner.reset(series.payloadStart, end);
    let refs = 0;
    while (exemplar.hasMore()) {
      const fieldTag = exemplar.tag();
      if (fieldTag >>> 3 !== EXEMPLAR_LABELS_REFS) {
        exemplar.skip(fieldTag & 7);
        continue;
      }
      if ((fieldTag & 7) === VARINT) {
        this.checkRef(exemplar.smallVarint());
        refs++;
        continue;
      }
      if ((fieldTag & 7) !== LENGTH_DELIMITED) throw malformed('exemplar labels_refs field of wrong type');
      const packedEnd = exemplar.lengthDelimited();
      const packed = this.packed.reset(exemplar.payloadStart, packedEnd);
      while (packed.hasMore()) {
        this.checkRef(packed.smallVarint());
        refs++;
      }
    }
    if ((refs & 1) !== 0) throw malformed('exemplar labels_refs of odd length');
  }

  private checkMetadata(series: WireReader, tag: number): void {
    if ((tag & 7) !== LENGTH_DELIMITED) throw malformed('metadata field of wrong type');
    const end = series.lengthDelimited();
    const metadata = this.inner.reset(series.payloadStart, end);
    while (metadata.hasMore()) {
      const fieldTag = metadata.tag();
      const number = fieldTag >>> 3;
      if (number !== METADATA_HELP_REF && number !== METADATA_UNIT_REF) {
        metadata.skip(fieldTag & 7);
        continue;
      }
      if ((fieldTag & 7) !== VARINT) throw malformed('metadata reference of wrong type');
      this.checkRef(metadata.smallVarint());
    }
  }

  private checkRef(ref: number): void {
    if (ref >= this.symbols.count) throw malformed(`symbol reference ${ref} out of range (${this.symbols.count} symbols)`);
  }

  /** Returns whether labels must be injected (marked in `inject`); throws when the series is refused. */
  decide(start: number, end: number, inject: boolean): boolean {
    const policy = this.policy;
    this.inject.fill(0);
    if (policy.selectors.length > 1) {
      this.decideUnion(start, end);
      return false;
    }
    let injects = false;
    for (const rule of policy.selectors[0] as readonly WriteRule[]) {
      const slot = rule.slot;
      const count = this.count[slot] as number;
      if (count > 1) throw this.violation(start, end, `label "${rule.label}" appears more than once`);
      if (this.isPresent(slot)) {
        if (!this.isAllowed(rule, this.valueRef[slot] as number))
          throw this.violation(start, end, `label "${rule.label}" value not allowed`);
        continue;
      }
      if (!inject || policy.injectables[slot] === undefined) throw this.violation(start, end, `label "${rule.label}" is missing`);
      this.inject[slot] = 1;
      injects = true;
    }
    return injects;
  }

  /**
   * Under several selectors: the series must satisfy one (each of its labels present once, non-empty, allowed); a
   * policy label present twice is refused whichever selector names it; nothing is injected.
   */
  private decideUnion(start: number, end: number): void {
    const policy = this.policy;
    for (let slot = 0; slot < policy.labels.length; slot++) {
      if ((this.count[slot] as number) > 1) throw this.violation(start, end, `label "${policy.labels[slot]}" appears more than once`);
    }
    for (const selector of policy.selectors) if (this.satisfies(selector)) return;
    throw this.violation(start, end, 'labels not allowed by any selector of the label policy');
  }

  private satisfies(selector: readonly WriteRule[]): boolean {
    for (const rule of selector) {
      if (!this.isPresent(rule.slot) || !this.isAllowed(rule, this.valueRef[rule.slot] as number)) return false;
    }
    return true;
  }

  /** Present once with a value: an empty value counts as missing (the spec forbids empty values; Prometheus drops empty labels). */
  private isPresent(slot: number): boolean {
    const value = this.valueRef[slot] as number;
    return this.count[slot] === 1 && (this.symbols.ends[value] as number) > (this.symbols.starts[value] as number);
  }

  private isAllowed(rule: WriteRule, value: number): boolean {
    let verdicts = this.verdicts[rule.index];
    if (verdicts === undefined) verdicts = this.verdicts[rule.index] = new Uint8Array(this.symbols.count);
    if (verdicts[value] === 0) {
      const allowed = isValueAllowed(rule, this.message, this.symbols.starts[value] as number, this.symbols.ends[value] as number);
      verdicts[value] = allowed ? 1 : 2;
    }
    return verdicts[value] === 1;
  }

  /** The series' label references in order, as [name, value] pairs (for a rebuild). */
  labelPairs(start: number, end: number): number[] {
    const pairs: number[] = [];
    const series = new WireReader(this.message, 'time series', start, end);
    while (series.hasMore()) {
      const tag = series.tag();
      if (tag >>> 3 !== LABELS_REFS) {
        series.skip(tag & 7);
        continue;
      }
      if ((tag & 7) === VARINT) {
        pairs.push(series.smallVarint());
        continue;
      }
      const packedEnd = series.lengthDelimited();
      const packed = new WireReader(this.message, 'time series', series.payloadStart, packedEnd);
      while (packed.hasMore()) pairs.push(packed.smallVarint());
    }
    return pairs;
  }

  slotOfSymbol(ref: number): number {
    return ref < this.symbols.count ? (this.slotOf[ref] as number) : NO_SLOT;
  }

  private violation(start: number, end: number, what: string): PolicyViolation {
    const pairs = this.labelPairs(start, end);
    let metric = '(no __name__)';
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const name = pairs[i] as number;
      if (bytesEqual(METRIC_NAME, this.message, this.symbols.starts[name] as number, this.symbols.ends[name] as number)) {
        const value = pairs[i + 1] as number;
        metric = this.message.toString('utf8', this.symbols.starts[value] as number, this.symbols.ends[value] as number);
        break;
      }
    }
    return new PolicyViolation(`series ${metric}: ${what}`);
  }
}

const METRIC_NAME = Buffer.from('__name__');

/** The symbols inject mode needs: per injectable policy label (slot), the refs of its name and value, and the strings to append. */
interface AddedSymbols {
  readonly nameRef: Int32Array;
  readonly valueRef: Int32Array;
  readonly appended: Buffer[];
  /** Set once the appended symbols are in the output. */
  isWritten: boolean;
}

function addInjectedSymbols(symbols: SymbolTable, policy: WritePolicy, message: Buffer): AddedSymbols {
  const appended: Buffer[] = [];
  const refOf = (bytes: Buffer): number => {
    for (let i = 0; i < symbols.count; i++)
      if (bytesEqual(bytes, message, symbols.starts[i] as number, symbols.ends[i] as number)) return i;
    const known = appended.findIndex((b) => b.equals(bytes));
    if (known >= 0) return symbols.count + known;
    appended.push(bytes);
    return symbols.count + appended.length - 1;
  };
  const nameRef = new Int32Array(policy.names.length);
  const valueRef = new Int32Array(policy.names.length);
  policy.injectables.forEach((value, slot) => {
    if (value === undefined) return;
    nameRef[slot] = refOf(policy.names[slot] as Buffer);
    valueRef[slot] = refOf(value);
  });
  return { nameRef, valueRef, appended, isWritten: appended.length === 0 };
}

/** Copies `message[from, to)`, writing the appended symbols where the table ends if that point lies inside. */
function copyUpTo(sink: ByteSink, message: Buffer, from: number, to: number, symbols: SymbolTable, added: AddedSymbols): number {
  const at = symbols.insertAt;
  if (!added.isWritten && at >= from && at <= to) {
    sink.copyFrom(message, from, at);
    for (const symbol of added.appended) {
      sink.byte((SYMBOLS << 3) | LENGTH_DELIMITED);
      sink.varint(symbol.length);
      sink.copyFrom(symbol, 0, symbol.length);
    }
    added.isWritten = true;
    sink.copyFrom(message, at, to);
    return to;
  }
  sink.copyFrom(message, from, to);
  return to;
}

/**
 * Writes series with the marked labels added: one packed labels_refs, sorted by name, then every other field as
 * is. Made once per request at the first injection; scratch arrays reused from series to series.
 */
class InjectedSeriesWriter {
  private pairs = new Int32Array(32);
  private order = new Int32Array(16);
  private others = new Int32Array(16);
  private name = 0;
  private readonly series: WireReader;
  private readonly packed: WireReader;

  constructor(
    private readonly check: SeriesCheck,
    private readonly added: AddedSymbols,
  ) {
    this.series = new WireReader(check.message, 'time series');
    this.packed = new WireReader(check.message, 'time series');
  }

  write(sink: ByteSink, start: number, end: number): void {
    const { check, added } = this;
    let pairCount = 0;
    let otherCount = 0;
    let othersLength = 0;
    let refIndex = 0;
    const series = this.series.reset(start, end);
    while (series.hasMore()) {
      const fieldStart = series.pos;
      const tag = series.tag();
      if (tag >>> 3 !== LABELS_REFS) {
        series.skip(tag & 7);
        if (2 * otherCount + 2 > this.others.length) this.others = grow(this.others);
        this.others[2 * otherCount] = fieldStart;
        this.others[2 * otherCount + 1] = series.pos;
        othersLength += series.pos - fieldStart;
        otherCount++;
        continue;
      }
      if ((tag & 7) !== LENGTH_DELIMITED) {
        pairCount = this.takeRef(refIndex++, series.smallVarint(), pairCount);
        continue;
      }
      const packedEnd = series.lengthDelimited();
      const packed = this.packed.reset(series.payloadStart, packedEnd);
      while (packed.hasMore()) pairCount = this.takeRef(refIndex++, packed.smallVarint(), pairCount);
    }
    for (let slot = 0; slot < check.inject.length; slot++)
      if (check.inject[slot] === 1) pairCount = this.addPair(pairCount, added.nameRef[slot] as number, added.valueRef[slot] as number);
    this.sortPairs(pairCount);
    let packedLength = 0;
    for (let i = 0; i < 2 * pairCount; i++) packedLength += varintSize(this.pairs[i] as number);
    const labelsField = packedLength === 0 ? 0 : 1 + varintSize(packedLength) + packedLength;
    sink.byte((TIMESERIES << 3) | LENGTH_DELIMITED);
    sink.varint(labelsField + othersLength);
    if (packedLength > 0) {
      sink.byte((LABELS_REFS << 3) | LENGTH_DELIMITED);
      sink.varint(packedLength);
      for (let i = 0; i < pairCount; i++) {
        const at = 2 * (this.order[i] as number);
        sink.varint(this.pairs[at] as number);
        sink.varint(this.pairs[at + 1] as number);
      }
    }
    for (let i = 0; i < otherCount; i++) sink.copyFrom(check.message, this.others[2 * i] as number, this.others[2 * i + 1] as number);
  }

  /** Takes the `index`-th reference of the series: a name is held until its value comes. */
  private takeRef(index: number, ref: number, pairCount: number): number {
    if ((index & 1) === 0) {
      this.name = ref;
      return pairCount;
    }
    const slot = this.check.slotOfSymbol(this.name);
    // An empty-valued label of an added name is replaced, never duplicated.
    if (slot !== NO_SLOT && this.check.inject[slot] === 1) return pairCount;
    return this.addPair(pairCount, this.name, ref);
  }

  private addPair(count: number, name: number, value: number): number {
    if (2 * count + 2 > this.pairs.length) this.pairs = grow(this.pairs);
    if (count + 1 > this.order.length) this.order = grow(this.order);
    this.pairs[2 * count] = name;
    this.pairs[2 * count + 1] = value;
    this.order[count] = count;
    return count + 1;
  }

  /** Insertion sort by name bytes: stable, and a series holds a dozen labels, already nearly sorted. */
  private sortPairs(count: number): void {
    for (let i = 1; i < count; i++) {
      const current = this.order[i] as number;
      let j = i - 1;
      while (j >= 0 && this.compareNames(this.pairs[2 * (this.order[j] as number)] as number, this.pairs[2 * current] as number) > 0) {
        this.order[j + 1] = this.order[j] as number;
        j--;
      }
      this.order[j + 1] = current;
    }
  }

  private compareNames(a: number, b: number): number {
    const { message, symbols } = this.check;
    const count = symbols.count;
    const ab = a < count ? message : (this.added.appended[a - count] as Buffer);
    const bb = b < count ? message : (this.added.appended[b - count] as Buffer);
    return compareBytes(
      ab,
      a < count ? (symbols.starts[a] as number) : 0,
      a < count ? (symbols.ends[a] as number) : ab.length,
      bb,
      b < count ? (symbols.starts[b] as number) : 0,
      b < count ? (symbols.ends[b] as number) : bb.length,
    );
  }
}

function malformed(why: string): UnsupportedInput {
  return new UnsupportedInput(`malformed remote write 2.0 request: ${why}`);
}
