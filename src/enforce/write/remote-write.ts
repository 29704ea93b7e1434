import snappy from 'snappyjs';
import type { LabelPolicy, LabelRule } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { encodeLengthDelimited } from './protobuf-wire-reader.js';
import { encodeStringField, readFields, readLabel, type RawField } from './remote-write-wire.js';

export interface RemoteWriteOptions {
  /** The request's Content-Type (remote write 1.0: `application/x-protobuf`, optionally `;proto=prometheus.WriteRequest`). */
  readonly contentType: string | undefined;
  /** The request's Content-Encoding; absent means snappy, as Prometheus' receiver assumes. */
  readonly contentEncoding: string | undefined;
  /** Add a missing label whose rule is a single literal, instead of refusing the series. */
  readonly injectLabels: boolean;
  /** Refuse bodies that decompress to more than this (the snappy header states the size up front). */
  readonly maxDecompressedBytes: number;
}

export interface RemoteWriteResult {
  /** The body to forward: the original bytes when nothing was added, else re-encoded and re-compressed. */
  readonly body: Buffer;
  readonly isModified: boolean;
  readonly seriesCount: number;
}

interface Label {
  readonly name: string;
  readonly value: string;
  readonly raw: Buffer;
}

// Remote write 1.0 spec: each TimeSeries is field 1 of WriteRequest; each Label is field 1 of TimeSeries.
const TIMESERIES_FIELD = 1;
const LABEL_FIELD = 1;

/**
 * Checks a Prometheus remote write 1.0 request against a label policy, series by series, and returns the body
 * to forward. Nothing is forwarded unless every series is allowed.
 *
 * - Each rule's label must be present once with an allowed value; else `PolicyViolation` naming the metric
 *   and the label. An empty value counts as missing (Prometheus drops empty labels). A rule's label present
 *   twice is refused (receivers disagree on which one wins).
 * - With `injectLabels`, a missing label whose rule is a single literal is added, labels re-sorted by name
 *   (the spec requires sorted labels), and the body re-encoded and re-compressed. Only touched series are
 *   re-encoded, and then only their labels: every other field is copied byte for byte.
 * - A policy of several selectors: a series is allowed when its labels satisfy one of them (each of that
 *   selector's labels present once, non-empty, allowed); a policy label present twice is refused as above;
 *   nothing is injected (which selector's labels to add would be a guess).
 * - Full access: the body is returned untouched without decoding.
 * - Remote write 2.0 (`proto=io.prometheus.write.v2.Request`), other media types and encodings →
 *   `UnsupportedInput` with `mediaType` (415). Malformed snappy or protobuf → `UnsupportedInput` (400).
 */
export function enforceRemoteWrite(body: Buffer, policy: LabelPolicy, options: RemoteWriteOptions): RemoteWriteResult {
  if (policy.fullAccess) return { body, isModified: false, seriesCount: 0 };
  assertRemoteWriteV1(options.contentType, options.contentEncoding);
  const message = decompressSnappy(body, options.maxDecompressedBytes);
  const selectors = policy.selectors.map((selector) => selector.map(compileRule));
  const matchers = selectors.length === 1 ? (selectors[0] as RuleMatcher[]) : undefined;
  let isModified = false;
  let seriesCount = 0;
  const out: Buffer[] = [];
  for (const field of readFields(message)) {
    if (field.number !== TIMESERIES_FIELD) {
      out.push(field.raw);
      continue;
    }
    const rewritten = matchers ? enforceSeries(requirePayload(field), matchers, options.injectLabels) : checkUnionSeries(requirePayload(field), selectors);
    seriesCount++;
    if (rewritten === undefined) {
      out.push(field.raw);
    } else {
      out.push(encodeLengthDelimited(TIMESERIES_FIELD, rewritten));
      isModified = true;
    }
  }
  if (!isModified) return { body, isModified, seriesCount };
  return { body: Buffer.from(snappy.compress(Buffer.concat(out))), isModified, seriesCount };
}

interface RuleMatcher {
  readonly rule: LabelRule;
  readonly regexes: readonly RegExp[];
  /** The value to inject when the label is missing: only for a rule of exactly one literal. */
  readonly injectable: string | undefined;
}

function compileRule(rule: LabelRule): RuleMatcher {
  const single = rule.regexes.length === 0 && rule.literals.length === 1 ? rule.literals[0] : undefined;
  return { rule, regexes: rule.regexes.map((re) => new RegExp(`^(?:${re})$`, 'u')), injectable: single };
}

function isAllowed(matcher: RuleMatcher, value: string): boolean {
  return matcher.rule.literals.includes(value) || matcher.regexes.some((re) => re.test(value));
}

/** Under several selectors: throws unless the series' labels satisfy one selector; never modifies it. */
function checkUnionSeries(series: Buffer, selectors: readonly (readonly RuleMatcher[])[]): undefined {
  const labels = readFields(series).filter((f) => f.number === LABEL_FIELD).map((f) => readLabel(requirePayload(f)));
  const metric = labels.find((l) => l.name === '__name__')?.value ?? '(no __name__)';
  for (const name of new Set(selectors.flat().map((m) => m.rule.label))) {
    if (labels.filter((l) => l.name === name).length > 1) throw new PolicyViolation(`series ${metric}: label "${name}" appears more than once`);
  }
  const satisfies = (matchers: readonly RuleMatcher[]) => matchers.every((m) => {
    const value = labels.find((l) => l.name === m.rule.label)?.value ?? '';
    return value !== '' && isAllowed(m, value);
  });
  if (!selectors.some(satisfies)) throw new PolicyViolation(`series ${metric}: labels not allowed by any selector of the label policy`);
  return undefined;
}

/** Returns the re-encoded series when labels were added, undefined when it passes unchanged; throws if refused. */
function enforceSeries(series: Buffer, matchers: readonly RuleMatcher[], inject: boolean): Buffer | undefined {
  const fields = readFields(series);
  const labels: Label[] = fields
    .filter((f) => f.number === LABEL_FIELD)
    .map((f) => ({ ...readLabel(requirePayload(f)), raw: f.raw }));
  const metric = labels.find((l) => l.name === '__name__')?.value ?? '(no __name__)';
  const added: Label[] = [];
  for (const matcher of matchers) {
    const name = matcher.rule.label;
    const present = labels.filter((l) => l.name === name);
    if (present.length > 1) throw new PolicyViolation(`series ${metric}: label "${name}" appears more than once`);
    const value = present[0]?.value ?? '';
    if (value !== '') {
      if (!isAllowed(matcher, value)) throw new PolicyViolation(`series ${metric}: label "${name}" value not allowed`);
      continue;
    }
    if (!inject || matcher.injectable === undefined) {
      throw new PolicyViolation(`series ${metric}: label "${name}" is missing`);
    }
    const raw = Buffer.concat([encodeStringField(1, name), encodeStringField(2, matcher.injectable)]);
    added.push({ name, value: matcher.injectable, raw: encodeLengthDelimited(LABEL_FIELD, raw) });
  }
  if (added.length === 0) return undefined;
  // An empty-valued label of the same name is replaced, never duplicated.
  const kept = labels.filter((l) => !added.some((a) => a.name === l.name));
  const sorted = [...kept, ...added].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const others = fields.filter((f) => f.number !== LABEL_FIELD).map((f) => f.raw);
  return Buffer.concat([...sorted.map((l) => l.raw), ...others]);
}

function requirePayload(field: RawField): Buffer {
  if (field.payload === undefined) throw new UnsupportedInput('malformed protobuf: message field of wrong type');
  return field.payload;
}

/**
 * Remote write 1.0 spec: Content-Type `application/x-protobuf`, Content-Encoding `snappy`. Remote write 2.0
 * announces itself with `proto=io.prometheus.write.v2.Request`; its series reference a symbol table, which this
 * enforcer does not read, so it is refused rather than forwarded unchecked.
 */
function assertRemoteWriteV1(contentType: string | undefined, contentEncoding: string | undefined): void {
  if (contentType !== undefined && contentType.trim() !== '') {
    const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
    if (mediaType !== 'application/x-protobuf') {
      throw new UnsupportedInput(`unsupported remote write content type: ${mediaType}`, { mediaType: true });
    }
    const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
    if (proto !== undefined && proto !== 'prometheus.writerequest') {
      throw new UnsupportedInput(`unsupported remote write message: ${proto}`, { mediaType: true });
    }
  }
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'snappy') {
    throw new UnsupportedInput(`unsupported remote write encoding: ${encoding}`, { mediaType: true });
  }
}

/** Snappy block format: the body starts with the uncompressed length as a varint, checked before inflating. */
function decompressSnappy(body: Buffer, maxBytes: number): Buffer {
  try {
    return Buffer.from(snappy.uncompress(body, maxBytes));
  } catch (err) {
    throw new UnsupportedInput(`invalid snappy body: ${(err as Error).message}`);
  }
}
