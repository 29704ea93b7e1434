import { QueryParseError } from '../errors.js';
import { STRICT_UTF8 } from '../utf8.js';

/**
 * PromQL string literals, decoded the way Prometheus does (promql/parser lexer + util/strutil.Unquote, which is
 * Go's strconv.Unquote extended to single-quoted strings). We decode every literal ourselves instead of trusting
 * the lezer token: the lezer grammar accepts an unterminated string, and an escape Go would refuse must not
 * reach the upstream as a value we believe we understood. Anything we are unsure about is refused.
 */

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


/** Decodes a PromQL string literal (with its quotes). Throws QueryParseError for anything Go would reject. */
export function decodePromString(raw: string): string {
  const quote = raw[0];
  if (raw.length < 2 || raw[raw.length - 1] !== quote) throw new QueryParseError(`unterminated string: ${raw}`);
  const body = raw.slice(1, -1);
  if (quote === '`') {
    // Go drops carriage returns inside raw strings in some versions and not in others: refuse rather than guess.
    if (body.includes('`') || body.includes('\r')) throw new QueryParseError('invalid raw string literal');
    return body;
  }
  if (quote !== '"' && quote !== "'") throw new QueryParseError(`not a string literal: ${raw}`);
  return decodeQuotedBody(body, quote);
}

/**
 * Bodies without an escape, a newline, the closing quote or a lone surrogate (which the byte-wise decoding below
 * turns into U+FFFD) decode to themselves: most label values are such, and skip the byte-wise work.
 */
const PLAIN_BODY: Readonly<Record<string, RegExp>> = { '"': /^[^"\\\n\p{Cs}]*$/u, "'": /^[^'\\\n\p{Cs}]*$/u };

function decodeQuotedBody(body: string, quote: string): string {
  if (PLAIN_BODY[quote]?.test(body) === true) return body;
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch === '\n' || ch === quote) throw new QueryParseError('invalid character in string literal');
    if (ch !== '\\') {
      const cp = body.codePointAt(i) as number;
      const text = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(text, 'utf8'));
      i += text.length;
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
    bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
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
 * Quotes a value as a double-quoted PromQL string that every Prometheus version decodes back to exactly
 * `value`: backslash, quote and control characters escaped, everything else as UTF-8.
 */
export function quotePromString(value: string): string {
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
