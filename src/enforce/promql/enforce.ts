import type { LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { compilePolicy, compileSelectors, injectPolicy, intersectPolicy, type CompiledPolicy } from './inject.js';
import { parsePromQL, type ParsedQuery } from './parse.js';
import { decodeSelector, printSelector, type DecodedSelector } from './selector.js';
import { rewriteUnionQuery } from './union.js';
import { findUnenforcedSelectors } from './verify.js';

/**
 * Rewrites a PromQL expression so that every series it reads is inside the policy.
 *
 * Contract:
 * - Every VectorSelector anywhere in the tree (plain, in a range or subquery, under `offset`/`@`, inside
 *   functions, aggregations, both sides of every binary and set operator) gets the policy's matchers, as
 *   described by `injectPolicy`. Nothing else reads series, so nothing else needs rewriting; `label_replace`
 *   may forge a label only on series that were already filtered.
 * - Selectors are printed canonically (strings re-quoted, comments inside them gone); the rest of the query is
 *   kept byte for byte, except comments, which are removed: Go's lexer ends a comment at `\r` where the lezer
 *   grammar ends it only at `\n`, so `x # \r or secret` would read `secret` upstream if we kept it.
 * - The result is re-parsed and checked (`findUnenforcedSelectors`); a mismatch is a bug and throws.
 * - A policy of several selectors (ORed) is enforced exactly by `rewriteUnionQuery` (union.ts): each selector
 *   becomes the union of its copies, one per policy selector, or the query is refused (InexpressiblePolicy).
 * - Full access returns the query unchanged, but it must still parse.
 * - Anything the parser rejects (syntax errors, unknown node kinds, MetricsQL-only syntax, undecodable strings,
 *   an empty query) throws QueryParseError: a query we cannot read is never passed through.
 */
export function enforceQuery(query: string, policy: LabelPolicy): string {
  const parsed = parsePromQL(query);
  if (policy.fullAccess) return query;
  const selectors = compileSelectors(policy);
  const enforced = selectors.length === 1 ? rewriteQuery(parsed, selectors[0] as CompiledPolicy) : rewriteUnionQuery(parsed, selectors);
  assertEnforced(enforced, policy);
  return enforced;
}

/**
 * Enforces a series selector (`match[]` of series, labels, label values and federate). Like Prometheus'
 * ParseMetricSelector, the value must be one plain vector selector (`up`, `{job="x"}`, `up{job="x"}`);
 * anything else, including `offset`/`@`, parentheses or operators, throws QueryParseError. The result is the
 * canonical selector, also under full access.
 */
export function enforceSelector(selector: string, policy: LabelPolicy): string {
  const decoded = readSeriesSelector(selector);
  if (policy.fullAccess) return printSelector(decoded);
  const enforced = printSelector(injectPolicy(decoded, compilePolicy(policy)));
  assertEnforced(enforced, policy);
  return enforced;
}

/**
 * `enforceSelector` for a policy of any number of selectors: one series selector per policy selector, each the
 * client's selector narrowed by that policy selector (`intersectPolicy`). Sent as several `match[]`, which Prometheus' series, labels
 * and label values APIs OR, they select exactly the union. One element under full access or one selector.
 */
export function enforceSelectors(selector: string, policy: LabelPolicy): string[] {
  const decoded = readSeriesSelector(selector);
  if (policy.fullAccess) return [printSelector(decoded)];
  const compiled = compileSelectors(policy);
  if (compiled.length === 1) return [enforceSelector(selector, policy)];
  return compiled.map((one) => {
    const enforced = printSelector(intersectPolicy(decoded, one));
    assertEnforced(enforced, policy);
    return enforced;
  });
}

function readSeriesSelector(selector: string): DecodedSelector {
  const parsed = parsePromQL(selector);
  const top = parsed.tree.topNode.getChildren('VectorSelector');
  const only = parsed.selectors[0];
  const isSelectorOnly = parsed.selectors.length === 1 && top.length === 1 && only !== undefined;
  if (!isSelectorOnly || hasOtherTopLevelNode(parsed)) throw new QueryParseError('match[] must be a series selector');
  return decodeSelector(only, parsed.text);
}

function hasOtherTopLevelNode(parsed: ParsedQuery): boolean {
  for (let child = parsed.tree.topNode.firstChild; child !== null; child = child.nextSibling) {
    if (child.name !== 'VectorSelector' && child.name !== 'LineComment') return true;
  }
  return false;
}

/** Splices the rewritten selectors into the query and drops its comments, keeping everything else. */
function rewriteQuery(parsed: ParsedQuery, policy: CompiledPolicy): string {
  const edits = [
    ...parsed.selectors.map((node) => ({
      from: node.from,
      to: node.to,
      text: printSelector(injectPolicy(decodeSelector(node, parsed.text), policy)),
    })),
    ...parsed.comments
      .filter((c) => !parsed.selectors.some((s) => c.from >= s.from && c.to <= s.to))
      .map((c) => ({ from: c.from, to: c.to, text: ' ' })),
  ].sort((a, b) => a.from - b.from);
  let out = '';
  let at = 0;
  for (const edit of edits) {
    out += parsed.text.slice(at, edit.from) + edit.text;
    at = edit.to;
  }
  return out + parsed.text.slice(at);
}

function assertEnforced(query: string, policy: LabelPolicy): void {
  const problems = findUnenforcedSelectors(query, policy);
  if (problems.length > 0) throw new Error(`promql enforcement self-check failed: ${problems.join('; ')}`);
}
