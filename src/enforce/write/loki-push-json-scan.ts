/**
 * A Loki JSON push body read straight from its bytes, when it is written in one plain form: then the gateway
 * can forward the very bytes it checked, knowing that Loki reads from them the labels it checked.
 *
 * Loki (pkg/util/unmarshal, pkg/loghttp/query.go `LogProtoStream`, labels.go `LabelSet`) reads a push with two
 * decoders: json-iterator for the root (member names matched case-insensitively by a 64-bit hash, trailing data
 * after the value ignored) and grafana/jsonparser for each stream (member names exact, a repeated member read
 * again, label names unescaped twice, a timestamp's and a metadata value's raw bytes taken without unescaping).
 * This reader accepts only bodies where none of that can matter:
 *
 *     body    = ws "{" ws "\"streams\"" ws ":" ws "[" ws [ stream *( ws "," ws stream ) ws ] "]" ws "}" ws  (end)
 *     stream  = "{" ws member *( ws "," ws member ) ws "}"   members "stream" (required) and "values", once each
 *     labels  = "{" ws [ name ws ":" ws string *( ws "," ws name ws ":" ws string ) ws ] "}"
 *     name    = "\"" [A-Za-z_][A-Za-z0-9_]* "\""   (no escapes; each name once)
 *     values  = "[" ws [ entry *( ws "," ws entry ) ws ] "]"
 *     entry   = "[" ws string ws "," ws string [ ws "," ws metadata ] ws "]"   (the timestamp without escapes)
 *     metadata = "{" ws [ string ws ":" ws string *( … ) ws ] "}"   (no escapes, each key once)
 *     string  = a JSON string: no byte below 0x20, only JSON's escapes
 *     ws      = *( " " / "\t" / "\n" / "\r" )
 *
 * and the whole body well-formed UTF-8. A label value with escapes is decoded as `JSON.parse` decodes it and
 * must be well-formed (no lone surrogate). Anything else — other members, other spellings, escaped member
 * names, `null`, numbers, a byte-order mark, trailing data, invalid JSON — is not refused here: `undefined`
 * sends the body to the full reading (loki-push-json.ts), which refuses or re-serialises it as before.
 */
import { isUtf8 } from 'node:buffer';

/** One stream's labels, and where its `stream` object sits in the body (`start` at `{`, `end` after `}`). */
export interface ScannedJsonStream {
  readonly labels: Map<string, string>;
  readonly labelsStart: number;
  readonly labelsEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const STREAMS = Buffer.from('"streams"');
const STREAM = Buffer.from('"stream"');
const VALUES = Buffer.from('"values"');
/** A UTF-16 surrogate not part of a pair (with the `u` flag, paired ones are one code point). */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Thrown inside the reader when the body is outside the plain form; never escapes `scanJsonPush`. */
class NotPlain extends Error {}

/**
 * The streams of a push written in the plain form above, or `undefined` when it is not (the caller then reads
 * it with the full reader). Never throws for any input.
 */
export function scanJsonPush(body: Buffer): ScannedJsonStream[] | undefined {
  if (!isUtf8(body)) return undefined;
  try {
    return new PushReader(body).read();
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
}

class PushReader {
  private readonly b: Buffer;
  private i = 0;
  /** The body's bytes four at a time, from `b[head]` (the first 4-aligned byte), for `skipOrdinary`. */
  private readonly words: Int32Array;
  private readonly head: number;

  constructor(body: Buffer) {
    this.b = body;
    this.head = (4 - (body.byteOffset & 3)) & 3;
    const wordCount = body.length > this.head ? (body.length - this.head) >> 2 : 0;
    this.words = wordCount === 0 ? new Int32Array(0) : new Int32Array(body.buffer, body.byteOffset + this.head, wordCount);
  }

  read(): ScannedJsonStream[] {
    this.expect(OPEN_BRACE);
    this.expectKey(STREAMS);
    this.expect(OPEN_BRACKET);
    const streams: ScannedJsonStream[] = [];
    if (!this.closes(CLOSE_BRACKET)) {
      do streams.push(this.readStream());
      while (this.next(COMMA, CLOSE_BRACKET));
    }
    this.expect(CLOSE_BRACE);
    this.skipSpace();
    if (this.i !== this.b.length) throw new NotPlain();
    return streams;
  }

  private readStream(): ScannedJsonStream {
    this.expect(OPEN_BRACE);
    let labels: Map<string, string> | undefined;
    let labelsStart = 0;
    let labelsEnd = 0;
    let hasValues = false;
    do {
      this.skipSpace();
      if (labels === undefined && this.startsWith(STREAM)) {
        this.expectKey(STREAM);
        this.skipSpace();
        labelsStart = this.i;
        labels = this.readLabels();
        labelsEnd = this.i;
      } else if (!hasValues && this.startsWith(VALUES)) {
        this.expectKey(VALUES);
        this.readValues();
        hasValues = true;
      } else throw new NotPlain();
    } while (this.next(COMMA, CLOSE_BRACE));
    if (labels === undefined) throw new NotPlain();
    return { labels, labelsStart, labelsEnd };
  }

  private readLabels(): Map<string, string> {
    this.expect(OPEN_BRACE);
    const labels = new Map<string, string>();
    if (this.closes(CLOSE_BRACE)) return labels;
    do {
      this.skipSpace();
      const name = this.readLabelName();
      this.expect(COLON);
      this.skipSpace();
      const value = this.readLabelValue();
      if (labels.has(name)) throw new NotPlain();
      labels.set(name, value);
    } while (this.next(COMMA, CLOSE_BRACE));
    return labels;
  }

  /** `"[A-Za-z_][A-Za-z0-9_]*"`, the PromQL identifier Loki's label-set grammar reads. */
  private readLabelName(): string {
    const b = this.b;
    if (b[this.i] !== QUOTE) throw new NotPlain();
    const start = this.i + 1;
    let i = start;
    for (; i < b.length; i++) {
      const c = b[i] as number;
      const isLetter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
      if (!(isLetter || (c >= 0x30 && c <= 0x39 && i > start))) break;
    }
    if (i === start || b[i] !== QUOTE) throw new NotPlain();
    this.i = i + 1;
    return b.toString('latin1', start, i);
  }

  /** A JSON string, decoded as `JSON.parse` decodes it; one holding a lone surrogate is outside. */
  private readLabelValue(): string {
    const start = this.i;
    if (this.b[start] !== QUOTE) throw new NotPlain();
    const flags = this.skipString();
    if (flags === 0) return this.b.toString('latin1', start + 1, this.i - 1);
    if ((flags & HAS_ESCAPE) === 0) return this.b.toString('utf8', start + 1, this.i - 1);
    let value: unknown;
    try {
      value = JSON.parse(this.b.toString('utf8', start, this.i));
    } catch {
      throw new NotPlain();
    }
    if (typeof value !== 'string' || LONE_SURROGATE.test(value)) throw new NotPlain();
    return value;
  }

  private readValues(): void {
    this.expect(OPEN_BRACKET);
    if (this.closes(CLOSE_BRACKET)) return;
    do {
      this.expect(OPEN_BRACKET);
      // Loki reads the timestamp's raw bytes as digits (jsonparser.ParseInt), escapes and all.
      if (this.expectString()) throw new NotPlain();
      this.expect(COMMA);
      this.expectString();
      if (this.next(COMMA, CLOSE_BRACKET)) {
        this.readMetadata();
        this.expect(CLOSE_BRACKET);
      }
    } while (this.next(COMMA, CLOSE_BRACKET));
  }

  /** A flat object of strings without escapes, each key once (as the full reader would forward it). */
  private readMetadata(): void {
    this.expect(OPEN_BRACE);
    if (this.closes(CLOSE_BRACE)) return;
    const keys: string[] = [];
    do {
      this.skipSpace();
      const start = this.i;
      if (this.b[start] !== QUOTE || (this.skipString() & HAS_ESCAPE) !== 0) throw new NotPlain();
      const key = this.b.toString('utf8', start + 1, this.i - 1);
      if (keys.includes(key)) throw new NotPlain();
      keys.push(key);
      this.expect(COLON);
      this.skipSpace();
      if (this.b[this.i] !== QUOTE || (this.skipString() & HAS_ESCAPE) !== 0) throw new NotPlain();
    } while (this.next(COMMA, CLOSE_BRACE));
  }

  /**
   * A string of an entry (timestamp, line): the bulk of a push, so its bytes are only classified (see
   * `skipOrdinary`); a control byte, an unknown escape or no closing quote is outside. True when it holds an
   * escape.
   */
  private expectString(): boolean {
    this.skipSpace();
    const b = this.b;
    const length = b.length;
    let i = this.i;
    let hasEscape = false;
    if (b[i] !== QUOTE) throw new NotPlain();
    i++;
    for (;;) {
      i = this.skipOrdinary(i);
      if (i >= length) throw new NotPlain();
      const kind = STRING_BYTE[b[i] as number];
      if (kind === CLOSING) break;
      if (kind === CONTROL) throw new NotPlain();
      hasEscape = true;
      i = escapeEnd(b, i);
    }
    this.i = i + 1;
    return hasEscape;
  }

  /**
   * Moves past the JSON string whose opening quote is at `i` (checked by the caller); returns `HAS_ESCAPE |
   * NON_ASCII` flags.
   * A control byte, an unknown escape or a missing closing quote is outside the form.
   */
  private skipString(): number {
    const b = this.b;
    const length = b.length;
    let flags = 0;
    let i = this.i + 1;
    for (;;) {
      if (i >= length) throw new NotPlain();
      const c = b[i] as number;
      if (c === QUOTE) break;
      if (c < 0x20) throw new NotPlain();
      if (c === BACKSLASH) {
        flags |= HAS_ESCAPE;
        i = escapeEnd(b, i);
      } else {
        if (c >= 0x80) flags |= NON_ASCII;
        i++;
      }
    }
    this.i = i + 1;
    return flags;
  }

  /**
   * The index of the first byte from `from` that is not ordinary inside a string (a quote, a backslash, a
   * control byte), or the length. Four bytes at a time where it can: a word holds one of those exactly when
   * `hasLess(x, 0x20) | hasZero(x ^ 0x22…) | hasZero(x ^ 0x5c…)` (the classic SWAR tests: exact about whether
   * some byte matches, not which); the byte loop then finds it.
   */
  private skipOrdinary(from: number): number {
    const b = this.b;
    const length = b.length;
    const head = this.head;
    let i = from;
    while (i < length && (i < head || ((i - head) & 3) !== 0)) {
      if (STRING_BYTE[b[i] as number] !== ORDINARY) return i;
      i++;
    }
    const words = this.words;
    let w = (i - head) >> 2;
    for (; w < words.length; w++) {
      const x = words[w] as number;
      const quote = x ^ 0x22222222;
      const backslash = x ^ 0x5c5c5c5c;
      const found = ((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash);
      if ((found & 0x80808080) !== 0) break;
    }
    i = Math.max(i, head + (w << 2));
    while (i < length && STRING_BYTE[b[i] as number] === ORDINARY) i++;
    return i;
  }

  /** `"name"` followed by `:`, after optional space. */
  private expectKey(key: Buffer): void {
    this.skipSpace();
    if (!this.startsWith(key)) throw new NotPlain();
    this.i += key.length;
    this.expect(COLON);
  }

  private startsWith(bytes: Buffer): boolean {
    const end = this.i + bytes.length;
    return end <= this.b.length && this.b.compare(bytes, 0, bytes.length, this.i, end) === 0;
  }

  /** Skips space, then requires `byte`. */
  private expect(byte: number): void {
    this.skipSpace();
    if (this.b[this.i] !== byte) throw new NotPlain();
    this.i++;
  }

  /** Skips space; true (and moves past it) when `close` is next: an empty object or array. */
  private closes(close: number): boolean {
    this.skipSpace();
    if (this.b[this.i] !== close) return false;
    this.i++;
    return true;
  }

  /** After a member or element: true on `,` (another follows), false on `close`; anything else is outside. */
  private next(comma: number, close: number): boolean {
    this.skipSpace();
    const c = this.b[this.i];
    this.i++;
    if (c === comma) return true;
    if (c === close) return false;
    throw new NotPlain();
  }

  private skipSpace(): void {
    const b = this.b;
    let i = this.i;
    for (;;) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.i = i;
  }
}

const HAS_ESCAPE = 1;
const NON_ASCII = 2;

const ORDINARY = 0;
const CLOSING = 1;
const ESCAPE = 2;
const CONTROL = 3;
/** Each byte's meaning inside a JSON string (UTF-8 is checked on the whole body first). */
const STRING_BYTE = new Uint8Array(256);
STRING_BYTE.fill(CONTROL, 0, 0x20);
STRING_BYTE[QUOTE] = CLOSING;
STRING_BYTE[BACKSLASH] = ESCAPE;

/** The index after the escape whose backslash is at `at`: `\" \\ \/ \b \f \n \r \t` or `\u` and four hex digits. */
function escapeEnd(b: Buffer, at: number): number {
  const c = b[at + 1];
  if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) return at + 2;
  if (c !== 0x75) throw new NotPlain();
  for (let k = at + 2; k < at + 6; k++) if (!isHexDigit(b[k])) throw new NotPlain();
  return at + 6;
}

function isHexDigit(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}
