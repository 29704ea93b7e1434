import type { LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { buildPolicyCondition, buildPolicyConditions, type TraceQueryOptions } from './conditions.js';
import { childrenOf, parseTraceQuery, type TextRange } from './syntax.js';

interface Edit extends TextRange {
  readonly text: string;
}

/**
 * Enforces a label policy on a TraceQL query: every spanset filter `{ … }` gets the policy's resource-attribute
 * conditions ANDed in, the original condition wrapped in parentheses so no operator precedence can escape:
 * `{ .a = 1 || .b = 2 }` → `{ (.a = 1 || .b = 2) && resource.namespace = "a" }`, `{}` → `{ resource.namespace = "a" }`.
 * That covers filters on both sides of spanset operators (`&&`, `||`, `>>`, `~`, `!>>` …), filters after a
 * pipe (`| { … }`) and inside `compare({ … })`; pipelines, aggregates and scalar filters only ever see spans a
 * filter passed.
 *
 * Edge cases:
 * - Empty or blank query → `{ <policy> }` (Tempo's search without `q`).
 * - Full access (or a policy without rules) → the query unchanged.
 * - A policy of several selectors: the policy condition is their disjunction, `((a1 && a2) || (b1))`, ANDed
 *   into every filter the same way: exact, since a span's resource attributes decide alone whether it passes.
 * - Comments are removed from the output, so what Tempo parses is exactly what was checked.
 * - A condition on the same attribute (`resource.namespace = "b"`) is kept and ANDed: the result is empty, not
 *   widened. `span.namespace` is a different attribute and never satisfies the policy.
 * - A pipeline that does not start with a filter (`select(.a)`, `count() > 1` alone) → `QueryParseError`.
 * - Syntax errors, and constructs the lezer grammar does not know → `QueryParseError`, never passed through.
 *   (lezer-traceql lags Tempo: e.g. `with(sample=true)` hints are refused.)
 * - The output is re-parsed and checked before it is returned; a failed check is a `QueryParseError`.
 */
export function enforceTraceQuery(query: string, policy: LabelPolicy, options: TraceQueryOptions = {}): string {
  const policyText = buildPolicyCondition(policy, options);
  if (policyText === undefined) return query;
  // One selector: its conditions, each checked on the right spine of `&&`; several: the one parenthesised
  // disjunction, checked as one condition.
  const conditions = policy.fullAccess || policy.selectors.length > 1 ? [policyText] : buildPolicyConditions(policy, options);
  if (query.trim() === '') return `{ ${policyText} }`;
  const parsed = parseTraceQuery(query);
  const edits: Edit[] = [];
  for (const filter of parsed.filters) {
    const condition = filter.condition;
    const text =
      condition === undefined ? `{ ${policyText} }` : `{ (${sliceWithoutComments(query, condition, parsed.comments)}) && ${policyText} }`;
    edits.push({ from: filter.from, to: filter.to, text });
  }
  for (const comment of parsed.comments) {
    if (!edits.some((e) => e.from <= comment.from && comment.to <= e.to)) edits.push({ ...comment, text: ' ' });
  }
  const enforced = applyEdits(query, edits);
  assertQueryEnforced(enforced, conditions);
  return enforced;
}

/** The text of a range with the comments inside it blanked out. */
function sliceWithoutComments(text: string, range: TextRange, comments: readonly TextRange[]): string {
  const inside = comments
    .filter((c) => range.from <= c.from && c.to <= range.to)
    .map((c) => ({ from: c.from - range.from, to: c.to - range.from, text: ' ' }));
  return applyEdits(text.slice(range.from, range.to), inside);
}

function applyEdits(text: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.from - b.from);
  let out = '';
  let at = 0;
  for (const edit of sorted) {
    if (edit.from < at) throw new QueryParseError('overlapping TraceQL rewrite');
    out += text.slice(at, edit.from) + edit.text;
    at = edit.to;
  }
  return out + text.slice(at);
}

/**
 * Checks, on the re-parsed output, that every spanset filter's condition is `… && c1 && … && cn` as the
 * parser groups it (the conditions are the right spine of `&&` nodes), so each filter is ANDed with the
 * whole policy whatever stands to the left. No comment may remain.
 */
export function assertQueryEnforced(query: string, conditions: readonly string[]): void {
  const parsed = parseTraceQuery(query);
  if (parsed.comments.length > 0) throw new QueryParseError('comment left in enforced TraceQL query');
  if (parsed.filters.length === 0) throw new QueryParseError('enforced TraceQL query has no spanset filter');
  for (const filter of parsed.filters) {
    let node = filter.condition;
    for (let i = conditions.length - 1; i >= 0; i--) {
      if (node === undefined) throw new QueryParseError('spanset filter without the policy');
      const text = query.slice(node.from, node.to);
      if (i === 0 && text === conditions[0]) break;
      const [left, op, right] = childrenOf(node);
      const rightText = right === undefined ? '' : query.slice(right.from, right.to);
      if (op?.name !== 'And' || rightText !== conditions[i]) {
        throw new QueryParseError('spanset filter without the policy');
      }
      node = left;
    }
  }
}
