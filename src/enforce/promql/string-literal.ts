import { decodeQuotedBody, decodeRawBody, quoteGoString } from '../go-string.js';
import { QueryParseError } from '../errors.js';

/**
 * PromQL string literals: Go's (../go-string.ts, the one codec), plus the single-quoted strings Prometheus'
 * lexer accepts (`'…'`, where `\'` is the quote's escape and `\"` is refused, as in Go's rune literals).
 */

/** Decodes a PromQL string literal (with its quotes). Throws QueryParseError for anything Go would reject. */
export function decodePromString(raw: string): string {
  const quote = raw[0];
  if (raw.length < 2 || raw[raw.length - 1] !== quote) throw new QueryParseError(`unterminated string: ${raw}`);
  const body = raw.slice(1, -1);
  if (quote === '`') return decodeRawBody(body);
  if (quote !== '"' && quote !== "'") throw new QueryParseError(`not a string literal: ${raw}`);
  return decodeQuotedBody(body, quote);
}

/** PromQL writes double-quoted Go strings. */
export const quotePromString: (value: string) => string = quoteGoString;
