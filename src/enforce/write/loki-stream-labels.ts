/**
 * The `labels` string of a protobuf push stream, read the way Loki reads it.
 *
 * Loki's distributor parses it with `syntax.ParseLabels`, which is Prometheus' `parser.ParseMetric` (the PromQL
 * lexer) followed by dropping empty-valued labels. This reader accepts a strict subset of that grammar and,
 * on it, yields the same labels:
 *
 *     ws* "{" ws* [ name ws* "=" ws* string ws* ( "," ws* name ws* "=" ws* string ws* )* [ "," ws* ] ] "}" ws*
 *
 * - ws is what the PromQL lexer skips: space, \t, \n, \r.
 * - name is `[a-zA-Z_][a-zA-Z0-9_]*` (the lexer's identifier inside braces).
 * - string is double-quoted with Go escapes, decoded by `decodeGoString` (../go-string.ts, which refuses
 *   whatever Go's `strconv.Unquote` might read differently: bad escapes, bytes that are not UTF-8, raw newlines,
 *   lone surrogates).
 *
 * Everything else is refused, never guessed: a metric name before the braces, `!=`/`=~`/`!~`, single-quoted
 * or backquoted strings, quoted label names, `#` comments, and a label named twice (Loki refuses duplicates
 * too). An empty value is returned as such; the policy check treats it as missing, as Loki drops it.
 */
import { UnsupportedInput } from '../errors.js';
import { decodeGoString } from '../go-string.js';

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Parses a stream's label set (see the module comment for the accepted grammar).
 * @throws UnsupportedInput naming `where` for anything outside it.
 */
export function parseStreamLabels(text: string, where: string): Map<string, string> {
  const refuse = (why: string): never => {
    throw new UnsupportedInput(`${where}: labels must be a label set like {name="value"}: ${why}`);
  };
  const labels = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b /* { */) refuse('expected "{"');
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== 0x7d /* } */) {
    for (;;) {
      const nameEnd = readName(text, i);
      if (nameEnd === i) refuse(`expected a label name at offset ${i}`);
      const name = text.slice(i, nameEnd);
      i = skipSpace(text, nameEnd);
      if (text.charCodeAt(i) !== 0x3d /* = */) refuse(`expected "=" after "${name}" (only equality is a label set)`);
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== QUOTE) refuse(`expected a double-quoted value for "${name}"`);
      const end = findClosingQuote(text, i + 1);
      if (end < 0) refuse(`unterminated value for "${name}"`);
      const value = decodeValue(text, i, end, refuse);
      if (labels.has(name)) refuse(`duplicate label "${name}"`);
      labels.set(name, value);
      i = skipSpace(text, end + 1);
      const next = text.charCodeAt(i);
      if (next === 0x7d /* } */) break;
      if (next !== 0x2c /* , */) refuse(`expected "," or "}" at offset ${i}`);
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === 0x7d /* } */) break;
    }
  }
  if (skipSpace(text, i + 1) !== text.length) refuse('unexpected text after "}"');
  return labels;
}

function skipSpace(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB && c !== LF && c !== CR) return i;
    i++;
  }
}

/** The end of `[a-zA-Z_][a-zA-Z0-9_]*` starting at `at` (= `at` when there is none). */
function readName(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    const isLetter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
    const isDigit = c >= 0x30 && c <= 0x39;
    if (!(isLetter || (isDigit && i > at))) return i;
    i++;
  }
}

/** Index of the `"` that ends a string whose body starts at `from` (a backslash escapes the next char). */
function findClosingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/** The value between `open` and `close` (the quotes); plain text is sliced, escapes go through Go's rules. */
function decodeValue(text: string, open: number, close: number, refuse: (why: string) => never): string {
  let hasEscapeOrNewline = false;
  for (let i = open + 1; i < close; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH || c === LF) {
      hasEscapeOrNewline = true;
      break;
    }
  }
  if (!hasEscapeOrNewline) return text.slice(open + 1, close);
  try {
    return decodeGoString(text.slice(open, close + 1));
  } catch (error) {
    return refuse((error as Error).message);
  }
}
