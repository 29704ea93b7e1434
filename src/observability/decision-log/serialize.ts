import type { BodyWriter } from './chain.js';
import type { DecisionQuery, DecisionRecord } from './record.js';

/**
 * A decision record's JSON, written by hand for its fixed shape as UTF-8 straight into the log's chunk (chain.ts
 * `BodyWriter`): the same bytes `JSON.stringify` gives for a record built field by field in the order of
 * `buildDecisionRecord` (server/record-decision.ts), which serialize.test.ts checks over hostile strings. It
 * exists for the hot path (issue #21): no string is built for a record, so nothing is allocated for its text (a
 * record's text as a string, ~60 pieces and their flattened copy, was half of the ~4 KB a record allocated, and
 * with the young generation capped that garbage is what the log cost a busy gateway). The parts that repeat per
 * caller (the identity, its policy) are frozen objects shared between requests, whose bytes are made once and kept
 * here (by object, in a WeakMap: no copy of a caller outlives it).
 */
export function createRecordWriter(): BodyWriter<DecisionRecord> {
  return new RecordWriter();
}

// What JSON.stringify escapes: `"`, `\\`, control characters, and lone surrogates (as \udXXX; a pair is kept, but
// it is rare enough to hand to JSON.stringify too). U+2028 and U+2029 are written as they are, as it does.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Room for what `room` does not count by length: keys, numbers, brackets (all ASCII, a byte each). */
const FIXED_ROOM = 512;

const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

/** The record's keys as bytes (each with the comma before it and the colon after), made once per writer. */
function keyBytes() {
  const key = (text: string) => Buffer.from(text, 'latin1');
  return {
    time: key(',"time":'),
    requestId: key(',"requestId":'),
    traceId: key(',"traceId":'),
    decision: key(',"decision":'),
    status: key(',"status":'),
    method: key(',"method":'),
    durationMs: key(',"durationMs":'),
    code: key(',"code":'),
    path: key(',"path":'),
    identity: key(',"identity":'),
    decidedBy: key(',"decidedBy":'),
    tenants: key(',"tenants":'),
    upstream: key(',"upstream":'),
    endpoint: key(',"endpoint":'),
    policy: key(',"policy":'),
    limitRules: key(',"limits":{"rules":'),
    refusedBy: key(',"refusedBy":'),
    queryBefore: key(',"query":{"before":'),
    after: key(',"after":'),
    queryBeforeSha256: key(',"query":{"beforeSha256":'),
    afterSha256: key(',"afterSha256":'),
    upstreamStatus: key(',"upstreamStatus":'),
    responseBytes: key(',"responseBytes":'),
  } as const;
}

/**
 * One instance per log, reused for every record (nothing is allocated per record but a number's text now and
 * then): `write` sets where it writes, and each step checks its room first, so a record that does not fit sets
 * `overflow` and writes nothing past the chunk's end.
 */
class RecordWriter implements BodyWriter<DecisionRecord> {
  // Only frozen objects are kept: one the caller could still change would keep stale bytes.
  private readonly fragments = new WeakMap<object, Buffer>();
  private readonly keys = keyBytes();
  private target: Buffer = Buffer.alloc(0);
  private readonly none = this.target;
  private at = 0;
  private overflow = false;

  write(record: DecisionRecord, target: Buffer, at: number): number {
    const keys = this.keys;
    this.target = target;
    this.at = at;
    this.overflow = false;
    this.key(keys.time);
    this.text(record.time);
    this.key(keys.requestId);
    this.text(record.requestId);
    this.key(keys.traceId);
    this.text(record.traceId);
    this.key(keys.decision);
    this.text(record.decision);
    this.key(keys.status);
    this.num(record.status);
    this.key(keys.method);
    this.text(record.method);
    this.key(keys.durationMs);
    this.num(record.durationMs);
    if (record.code !== undefined) this.field(keys.code, record.code);
    if (record.path !== undefined) this.field(keys.path, record.path);
    if (record.identity !== undefined) {
      this.key(keys.identity);
      this.key(this.fragmentOf(record.identity));
    }
    if (record.decidedBy !== undefined) this.field(keys.decidedBy, record.decidedBy);
    if (record.tenants !== undefined) {
      this.key(keys.tenants);
      this.strings(record.tenants);
    }
    if (record.upstream !== undefined) this.field(keys.upstream, record.upstream);
    if (record.endpoint !== undefined) this.field(keys.endpoint, record.endpoint);
    if (record.policy !== undefined) {
      this.key(keys.policy);
      this.key(this.fragmentOf(record.policy));
    }
    const limits = record.limits;
    if (limits !== undefined) {
      this.key(keys.limitRules);
      this.strings(limits.rules);
      if (limits.refusedBy !== undefined) this.field(keys.refusedBy, limits.refusedBy);
      this.byte(0x7d);
    }
    if (record.query !== undefined) this.query(record.query);
    if (record.upstreamStatus !== undefined) {
      this.key(keys.upstreamStatus);
      this.num(record.upstreamStatus);
    }
    if (record.responseBytes !== undefined) {
      this.key(keys.responseBytes);
      this.num(record.responseBytes);
    }
    this.byte(0x7d);
    const end = this.overflow ? -1 : this.at;
    this.target = this.none;
    return end;
  }

  /** Every string at 6 bytes a UTF-16 unit (`\u001f`; UTF-8 takes at most 3), the fragments as they are. */
  room(record: DecisionRecord): number {
    let units =
      record.time.length +
      record.requestId.length +
      record.traceId.length +
      record.decision.length +
      record.method.length +
      (record.code?.length ?? 0) +
      (record.path?.length ?? 0) +
      (record.decidedBy?.length ?? 0) +
      (record.upstream?.length ?? 0) +
      (record.endpoint?.length ?? 0) +
      unitsOf(record.tenants);
    if (record.limits !== undefined) units += unitsOf(record.limits.rules) + (record.limits.refusedBy?.length ?? 0);
    const query = record.query;
    if (query !== undefined) {
      units +=
        'before' in query ? query.before.length + (query.after?.length ?? 0) : query.beforeSha256.length + (query.afterSha256?.length ?? 0);
    }
    const identity = record.identity === undefined ? 0 : this.fragmentOf(record.identity).length;
    const policy = record.policy === undefined ? 0 : this.fragmentOf(record.policy).length;
    return units * 6 + identity + policy + FIXED_ROOM;
  }

  private fits(bytes: number): boolean {
    if (this.at + bytes <= this.target.length) return true;
    this.overflow = true;
    return false;
  }

  private byte(value: number): void {
    if (this.fits(1)) this.target[this.at++] = value;
  }

  /** Bytes made beforehand: a key, or an identity's or policy's JSON. */
  private key(bytes: Buffer): void {
    if (!this.fits(bytes.length)) return;
    this.target.set(bytes, this.at);
    this.at += bytes.length;
  }

  private field(key: Buffer, value: string): void {
    this.key(key);
    this.text(value);
  }

  /**
   * `value` as a JSON string. Plain ASCII (what a record mostly holds: ids, names, paths, queries) is copied a
   * character a byte, checked as it goes, a quote or backslash escaped in place (queries hold label values in
   * quotes); anything else (a control character, or past ASCII) starts again by the slow path.
   */
  private text(value: string): void {
    const length = value.length;
    if (!this.fits(length * 2 + 2)) return;
    const target = this.target;
    let at = this.at;
    target[at++] = QUOTE;
    for (let i = 0; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit === QUOTE || unit === BACKSLASH) {
        target[at++] = BACKSLASH;
      } else if (unit < 0x20 || unit > 0x7e) {
        this.otherText(value);
        return;
      }
      target[at++] = unit;
    }
    target[at++] = QUOTE;
    this.at = at;
  }

  private otherText(value: string): void {
    const json = NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
    if (this.fits(json.length * 3)) this.at += this.target.write(json, this.at, 'utf8');
  }

  /**
   * A number as JSON writes it. The usual ones (a status, a byte count, a duration rounded to the microsecond:
   * k/1000 for an integer k under 10^15) digit by digit: at most 15 significant digits, so the shortest text that
   * reads back as the number, which is what JSON writes, is k's digits with the point put back and the trailing
   * zeros cut. Any other through its string.
   */
  private num(value: number): void {
    const thousandths = Math.round(value * 1000);
    if (!(thousandths >= 0 && thousandths < 1e15 && thousandths / 1000 === value)) {
      const text = Number.isFinite(value) ? `${value}` : 'null';
      if (this.fits(text.length)) this.at += this.target.write(text, this.at, 'latin1');
      return;
    }
    if (!this.fits(20)) return;
    const whole = Math.floor(thousandths / 1000);
    const fraction = thousandths - whole * 1000;
    this.digits(whole);
    if (fraction === 0) return;
    const target = this.target;
    target[this.at++] = 0x2e;
    target[this.at++] = 0x30 + Math.floor(fraction / 100);
    if (fraction % 100 === 0) return;
    target[this.at++] = 0x30 + (Math.floor(fraction / 10) % 10);
    if (fraction % 10 !== 0) target[this.at++] = 0x30 + (fraction % 10);
  }

  /** A whole number under 10^15, room already checked. */
  private digits(value: number): void {
    let length = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) length++;
    const target = this.target;
    let rest = value;
    for (let i = this.at + length - 1; i >= this.at; i--) {
      target[i] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.at += length;
  }

  private strings(values: readonly string[]): void {
    this.byte(0x5b);
    for (let i = 0; i < values.length; i++) {
      if (i > 0) this.byte(COMMA);
      this.text(values[i] as string);
    }
    this.byte(0x5d);
  }

  private query(query: DecisionQuery): void {
    const keys = this.keys;
    if ('before' in query) {
      this.field(keys.queryBefore, query.before);
      if (query.after !== undefined) this.field(keys.after, query.after);
    } else {
      this.field(keys.queryBeforeSha256, query.beforeSha256);
      if (query.afterSha256 !== undefined) this.field(keys.afterSha256, query.afterSha256);
    }
    this.byte(0x7d);
  }

  /** The identity or the policy: their JSON as `JSON.stringify` writes them (the record's, nested). */
  private fragmentOf(value: object): Buffer {
    let bytes = this.fragments.get(value);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(value), 'utf8');
      if (Object.isFrozen(value)) this.fragments.set(value, bytes);
    }
    return bytes;
  }
}

function unitsOf(values: readonly string[] | undefined): number {
  if (values === undefined) return 0;
  // A comma and two quotes each: counted as one unit, at 6 bytes.
  let units = values.length;
  for (const value of values) units += value.length;
  return units;
}
