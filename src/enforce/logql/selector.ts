/**
 * Stream selectors: read the matchers of a `Selector` node, apply the label policy, write the selector back.
 * The rewritten selector is always re-serialised from decoded values, so what Loki reads is exactly what was
 * checked, whatever quoting the caller used.
 */
import type { SyntaxNode } from '@lezer/common';
import { selectorMatchers, type LabelPolicy, type LabelSelector } from '../../policy/label-policy.js';
import { onlySelector } from '../one-selector.js';
import { QueryParseError } from '../errors.js';
import { decodeGoString, quoteGoString } from '../go-string.js';
import { readNodeText, type ParsedLogQuery } from './parse.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface StreamMatcher {
  readonly label: string;
  readonly op: MatchOp;
  readonly value: string;
}

const OPS: Readonly<Record<string, MatchOp>> = { Eq: '=', Neq: '!=', Re: '=~', Nre: '!~' };

// Prometheus/Loki label names (model.LabelNameRE).
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The matchers of one `Selector` node, in source order, values decoded. */
export function readSelectorMatchers(parsed: ParsedLogQuery, selector: SyntaxNode): StreamMatcher[] {
  const matchers: StreamMatcher[] = [];
  collectMatchers(parsed, selector, matchers);
  return matchers;
}

function collectMatchers(parsed: ParsedLogQuery, node: SyntaxNode, into: StreamMatcher[]): void {
  for (let child = node.firstChild; child; child = child.nextSibling) {
    if (child.name === 'Matcher') into.push(readMatcher(parsed, child));
    else if (child.name === 'Matchers') collectMatchers(parsed, child, into);
    else if (child.name !== 'LineComment') throw new QueryParseError(`unexpected "${child.name}" in a selector`);
  }
}

function readMatcher(parsed: ParsedLogQuery, matcher: SyntaxNode): StreamMatcher {
  const name = matcher.firstChild;
  const op = name?.nextSibling;
  const value = op?.nextSibling;
  const opText = op ? OPS[op.name] : undefined;
  if (name?.name !== 'Identifier' || !opText || !value || value.name !== 'String' || value.nextSibling) {
    throw new QueryParseError(`unexpected matcher shape: ${readNodeText(parsed, matcher)}`);
  }
  const label = readNodeText(parsed, name);
  if (!LABEL_NAME.test(label)) throw new QueryParseError(`invalid label name: ${label}`);
  return { label, op: opText, value: decodeGoString(readNodeText(parsed, value)) };
}

/**
 * Applies the policy to a selector's matchers (full access: unchanged).
 *
 * - A positive matcher (`=`, `=~`) on a label the policy constrains is dropped and the policy's matcher takes
 *   its place — except an equality whose value is one of the rule's literals, which is provably inside the
 *   policy and kept as is (the policy matcher is then redundant and not added).
 * - A negative matcher (`!=`, `!~`) can only narrow: it is kept and the policy's matcher added.
 * - Matchers on other labels are kept.
 * A regex is never judged "narrower" (RE2 and JavaScript differ): when unsure, the policy is enforced.
 */
export function enforceStreamMatchers(matchers: readonly StreamMatcher[], policy: LabelPolicy): StreamMatcher[] {
  if (policy.fullAccess) return [...matchers];
  const rules = onlySelector(policy, 'a LogQL stream selector');
  const kept: StreamMatcher[] = [];
  const satisfied = new Set<string>();
  for (const matcher of matchers) {
    const rule = rules.find((r) => r.label === matcher.label);
    if (rule === undefined || matcher.op === '!=' || matcher.op === '!~') {
      kept.push(matcher);
    } else if (matcher.op === '=' && rule.literals.includes(matcher.value)) {
      kept.push(matcher);
      satisfied.add(matcher.label);
    }
  }
  const added = selectorMatchers(rules).filter((m) => !satisfied.has(m.label));
  return [...kept, ...added];
}

/**
 * Makes a selector's matchers carry one policy selector of several, by intersection: every matcher of the
 * client is kept (Loki ANDs them, so they can only narrow) and each rule's matcher is added, unless an
 * equality on one of the rule's literals already pins the label. Unlike `enforceStreamMatchers`, a matcher
 * outside the policy selector is not replaced: under a union it must select nothing from this copy.
 */
export function intersectStreamMatchers(matchers: readonly StreamMatcher[], selector: LabelSelector): StreamMatcher[] {
  const pinned = new Set(
    matchers.filter((m) => m.op === '=' && selector.some((r) => r.label === m.label && r.literals.includes(m.value))).map((m) => m.label),
  );
  return [...matchers, ...selectorMatchers(selector).filter((m) => !pinned.has(m.label))];
}

/** Writes matchers as a selector Loki parses back to the same matchers. */
export function formatSelector(matchers: readonly StreamMatcher[]): string {
  return `{${matchers.map((m) => `${m.label}${m.op}${quoteGoString(m.value)}`).join(', ')}}`;
}
