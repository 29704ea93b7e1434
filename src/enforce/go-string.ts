/**
 * Go string literals, read and written the way the upstreams' lexers do: one codec for PromQL
 * (promql/string-literal.ts adds its single quotes) and LogQL (and Loki's push labels).
 *
 * Prometheus and Loki both unquote with Prometheus' `util/strutil.Unquote` (Go's `strconv.Unquote`, extended to
 * single-quoted strings): `"…"` with Go escapes, or a backquoted raw string. A Go string is bytes: `\xNN` and
 * `\NNN` are bytes, `\u`/`\U` and written characters are UTF-8, and the bytes are read here as strict UTF-8
 * (utf8.ts), so escapes that spell a character byte by byte (`"\xc3\xa9"`) read as it, and bytes that are not
 * UTF-8 are refused. The lezer grammars are more lenient (they accept `"\q"` and an unterminated string), so
 * every literal an enforcer keeps is decoded here: what this codec accepts, Go's lexer ends at the same
 * character and reads as the same value. Whatever it cannot decode with certainty is refused, never guessed.
 *
 * Lone surrogates are refused, both ways. A JavaScript string may hold one (a JSON `"\ud800"` in a token's
 * claims or a push body); it has no UTF-8 form, so whatever reaches the upstream in its place (U+FFFD, or three
 * bytes Go reads as three U+FFFD) is a value the policy was never checked against. No query from the wire holds
 * one: percent-decoding yields U+FFFD for bytes that are not UTF-8.
 */
import { QueryParseError } from './errors.js';
import { STRICT_UTF8 } from './utf8.js';

/** Go's one-letter escapes (`\'` and `\"` are the quote's own, below). */
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
};

const LONE_SURROGATE = /\p{Cs}/u;

/** A Go string token, double-quoted or raw (quotes included), as LogQL and Loki's labels write it. */
export function decodeGoString(token: string): string {
  const quote = token[0];
  if (token.length < 2 || token[token.length - 1] !== quote || (quote !== '"' && quote !== '`')) {
    throw new QueryParseError(`not a string literal: ${token}`);
  }
  const body = token.slice(1, -1);
  return quote === '`' ? decodeRawBody(body) : decodeQuotedBody(body, quote);
}

/**
 * The inside of a backquoted raw string: as written, but never a backquote, and never a carriage return
 * (Go drops them inside raw strings in some versions and not in others: refused rather than guessed).
 */
export function decodeRawBody(body: string): string {
  if (body.includes('`') || body.includes('\r')) throw new QueryParseError('invalid raw string literal');
  if (LONE_SURROGATE.test(body)) throw new QueryParseError('string holds an unpaired surrogate');
  return body;
}

/**
 * Bodies without an escape, a newline, the closing quote or a lone surrogate decode to themselves: most label
 * values are such, and skip the byte-wise pass (a third of a cold PromQL rewrite's CPU when every literal took it).
 */
const PLAIN_BODY: Readonly<Record<string, RegExp>> = { '"': /^[^"\\\n\p{Cs}]*$/u, "'": /^[^'\\\n\p{Cs}]*$/u };

/** The inside of a `"…"` (or, for PromQL, `'…'`) string: Go escapes, read as strict UTF-8. */
export function decodeQuotedBody(body: string, quote: '"' | "'"): string {
  if (PLAIN_BODY[quote]?.test(body) === true) return body;
  if (LONE_SURROGATE.test(body)) throw new QueryParseError('string holds an unpaired surrogate');
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch === '\n' || ch === quote) throw new QueryParseError('unterminated string literal');
    if (ch !== '\\') {
      const cp = body.codePointAt(i) as number;
      if (cp < 0x80) bytes.push(cp);
      else for (const byte of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(byte);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    i = decodeEscape(body, i + 1, quote, bytes);
  }
  try {
    return STRICT_UTF8.decode(Uint8Array.from(bytes));
  } catch {
    throw new QueryParseError('string literal is not valid UTF-8');
  }
}

/** Decodes the escape whose letter is at `at`; pushes its bytes; returns the index after it. */
function decodeEscape(body: string, at: number, quote: string, bytes: number[]): number {
  const letter = body[at];
  if (letter === undefined) throw new QueryParseError('unterminated escape in string literal');
  const simple = SIMPLE_ESCAPES[letter];
  if (simple !== undefined) {
    bytes.push(simple);
    return at + 1;
  }
  if (letter === quote) {
    bytes.push(quote.charCodeAt(0));
    return at + 1;
  }
  if (letter === 'x') {
    bytes.push(readNumber(body, at + 1, 2, 16));
    return at + 3;
  }
  if (letter >= '0' && letter <= '7') {
    const value = readNumber(body, at, 3, 8);
    if (value > 255) throw new QueryParseError('octal escape out of range');
    bytes.push(value);
    return at + 3;
  }
  if (letter === 'u' || letter === 'U') {
    const digits = letter === 'u' ? 4 : 8;
    const cp = readNumber(body, at + 1, digits, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new QueryParseError('invalid unicode escape');
    for (const byte of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(byte);
    return at + 1 + digits;
  }
  throw new QueryParseError(`unknown escape sequence \\${letter}`);
}

function readNumber(body: string, from: number, digits: number, radix: 8 | 16): number {
  const text = body.slice(from, from + digits);
  const pattern = radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/;
  if (text.length !== digits || !pattern.test(text)) throw new QueryParseError('invalid escape in string literal');
  return Number.parseInt(text, radix);
}

/**
 * Quotes a value as a Go double-quoted string that every Prometheus and Loki version reads back as exactly
 * `value` (`strconv.Quote`'s rules for what must be escaped): backslash, quote and control characters escaped,
 * everything else as UTF-8. A lone surrogate is refused (see above).
 */
export function quoteGoString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new QueryParseError('string holds an unpaired surrogate');
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
