/**
 * LogQL string literals, read and written the way Loki's lexer does.
 *
 * Loki scans strings with Go's `text/scanner` and unquotes them with Prometheus' `strutil.Unquote`
 * (pkg/logql/syntax/lex.go): `"…"` with Go escapes, or a backquoted raw string. The lezer grammar is
 * more lenient (it accepts `"\q"`), so every string the enforcer keeps is checked here: when this decoder
 * accepts the token text, Go's scanner ends the token at the same character, which is what keeps the
 * gateway's view of the query and Loki's from drifting apart. Whatever this module cannot decode with
 * certainty is refused, never guessed.
 */
import { QueryParseError } from '../errors.js';

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** Decodes one LogQL string token (quotes included). Throws `QueryParseError` on anything Go would refuse. */
export function decodeGoString(token: string): string {
  if (token.length >= 2 && token.startsWith('`') && token.endsWith('`')) {
    const body = token.slice(1, -1);
    if (body.includes('`')) throw new QueryParseError('unterminated raw string');
    return body;
  }
  if (token.length < 2 || !token.startsWith('"') || !token.endsWith('"')) {
    throw new QueryParseError(`not a string literal: ${token}`);
  }
  return decodeQuoted(token.slice(1, -1));
}

function decodeQuoted(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '"' || c === '\n') throw new QueryParseError('unterminated string literal');
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new QueryParseError('unterminated string literal');
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 1;
      continue;
    }
    const [decoded, consumed] = decodeNumericEscape(body, i);
    out += decoded;
    i += consumed - 1;
  }
  return out;
}

/** `\xNN`, `\NNN`, `\uNNNN`, `\UNNNNNNNN`. Byte escapes are limited to ASCII: above it they yield raw bytes. */
function decodeNumericEscape(body: string, at: number): [string, number] {
  const e = body[at + 1] as string;
  const forms: Record<string, [number, number]> = { x: [2, 16], u: [4, 16], U: [8, 16] };
  const form = forms[e] ?? (/[0-7]/.test(e) ? ([3, 8] as [number, number]) : undefined);
  if (form === undefined) throw new QueryParseError(`invalid escape sequence \\${e}`);
  const [digits, radix] = form;
  const start = e === 'x' || e === 'u' || e === 'U' ? at + 2 : at + 1;
  const text = body.slice(start, start + digits);
  const pattern = radix === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/;
  if (text.length !== digits || !pattern.test(text)) throw new QueryParseError('invalid escape sequence');
  const code = Number.parseInt(text, radix);
  const isByteEscape = e === 'x' || radix === 8;
  if (isByteEscape && code > 0x7f) throw new QueryParseError('non-ASCII byte escapes are not supported');
  if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new QueryParseError('invalid code point');
  return [String.fromCodePoint(code), start + digits - at];
}

/**
 * Quotes a value as a Go double-quoted string Loki reads back to the same value (`strconv.Quote`'s rules
 * for what must be escaped). Lone surrogates have no UTF-8 form and are refused.
 */
export function quoteGoString(value: string): string {
  if (/\p{Cs}/u.test(value)) throw new QueryParseError('string holds an unpaired surrogate');
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
