import type { SyntaxNode } from '@lezer/common';
import { QueryParseError } from '../errors.js';
import { decodePromString, quotePromString } from './string-literal.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One part of a selector's braces, decoded. */
export type SelectorPart =
  /** `label op "value"`; `quotedName` when written `"label" op "value"` (Prometheus 3 UTF-8 names). */
  | { readonly kind: 'matcher'; readonly label: string; readonly quotedName: boolean; readonly op: MatchOp; readonly value: string }
  /** A bare `"name"` inside the braces: the metric name (Prometheus 3). */
  | { readonly kind: 'quoted-metric-name'; readonly name: string };

/** A VectorSelector, decoded: `metric{parts}`. */
export interface DecodedSelector {
  /** The identifier before the braces, if any. */
  readonly metric: string | undefined;
  readonly parts: readonly SelectorPart[];
}

const OPS: Readonly<Record<string, MatchOp>> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Decodes a VectorSelector node of `text`. Throws QueryParseError on any child it does not know. */
export function decodeSelector(node: SyntaxNode, text: string): DecodedSelector {
  let metric: string | undefined;
  const parts: SelectorPart[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.name === 'Identifier') metric = text.slice(child.from, child.to);
    else if (child.name === 'LabelMatchers') parts.push(...decodeMatchers(child, text));
    else if (child.name !== 'LineComment') throw new QueryParseError(`unexpected ${child.name} in selector`);
  }
  return { metric, parts };
}

function decodeMatchers(node: SyntaxNode, text: string): SelectorPart[] {
  const parts: SelectorPart[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.name === 'UnquotedLabelMatcher' || child.name === 'QuotedLabelMatcher') {
      parts.push(decodeMatcher(child, text));
    } else if (child.name === 'QuotedLabelName') {
      parts.push({ kind: 'quoted-metric-name', name: decodeQuotedName(child, text) });
    } else if (child.name !== 'LineComment') {
      throw new QueryParseError(`unexpected ${child.name} in label matchers`);
    }
  }
  return parts;
}

function decodeMatcher(node: SyntaxNode, text: string): SelectorPart {
  const nameNode = node.firstChild;
  const opNode = nameNode?.nextSibling ?? null;
  const valueNode = opNode?.nextSibling ?? null;
  const opKind = opNode?.firstChild?.name;
  const op = opKind === undefined ? undefined : OPS[opKind];
  if (nameNode === null || valueNode === null || valueNode.name !== 'StringLiteral' || op === undefined) {
    throw new QueryParseError('malformed label matcher');
  }
  const quotedName = nameNode.name === 'QuotedLabelName';
  if (!quotedName && nameNode.name !== 'LabelName') throw new QueryParseError('malformed label matcher');
  const label = quotedName ? decodeQuotedName(nameNode, text) : text.slice(nameNode.from, nameNode.to);
  return { kind: 'matcher', label, quotedName, op, value: decodePromString(text.slice(valueNode.from, valueNode.to)) };
}

function decodeQuotedName(node: SyntaxNode, text: string): string {
  const literal = node.firstChild;
  if (literal === null || literal.name !== 'StringLiteral') throw new QueryParseError('malformed quoted label name');
  return decodePromString(text.slice(literal.from, literal.to));
}

/** Prints a selector in canonical form: every string re-quoted, no comments, `metric{a="b", …}`. */
export function printSelector(selector: DecodedSelector): string {
  const parts = selector.parts.map(printPart);
  return `${selector.metric ?? ''}{${parts.join(', ')}}`;
}

function printPart(part: SelectorPart): string {
  if (part.kind === 'quoted-metric-name') return quotePromString(part.name);
  const name = part.quotedName ? quotePromString(part.label) : part.label;
  return `${name}${part.op}${quotePromString(part.value)}`;
}
