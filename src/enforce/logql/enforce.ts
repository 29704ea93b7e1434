/**
 * LogQL enforcement: every stream selector of a query gets the policy's matchers.
 *
 * What this does and does not guarantee. In LogQL only a stream selector `{…}` chooses which streams are
 * read; everything after it (line filters, `| json`, `| logfmt`, label filters, `| drop`, `| keep`) works on
 * the streams it chose. So once every selector carries the policy — including selectors nested in metric
 * queries, binary operations, `or`, `label_replace` — the query reads only allowed streams.
 * `| label_format namespace="x"` and `| line_format` can still *forge* labels or text in the output: a user
 * allowed `namespace="a"` can make results say `namespace="b"`. That is cosmetic — the data still comes
 * from namespace `a` — but consumers must not treat labels in query *results* as proof of origin.
 */
import type { LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { findSelectors, parseLogQuery, type ParsedLogQuery } from './parse.js';
import { enforceStreamMatchers, formatSelector, intersectStreamMatchers, readSelectorMatchers } from './selector.js';
import { rewriteUnionLogQuery } from './union.js';

/**
 * Returns `query` with the policy enforced on every stream selector.
 *
 * - Full access: the query is returned unchanged, but it must still parse (a 400 is cheaper than Loki's).
 * - A policy of several selectors: see union.ts (metric queries only; a log query is refused).
 * - Positive matchers on a constrained label are replaced by the policy's matcher, unless the matcher is an
 *   equality on one of the policy's literals; negative matchers are kept and the policy added.
 * - Selectors are re-serialised from decoded values; the rest of the query is kept byte for byte, and every
 *   string in it has been checked to lex the same way in Loki (see ../go-string.ts).
 * @throws QueryParseError on a syntax error, an unreviewed construct, or a string Loki would lex differently.
 */
export function enforceLogQuery(query: string, policy: LabelPolicy): string {
  const parsed = parseLogQuery(query);
  if (policy.fullAccess) return query;
  if (policy.selectors.length > 1) return rewriteUnionLogQuery(parsed, policy.selectors);
  return rewriteSelectors(parsed, policy);
}

/**
 * Enforces the policy on a log selector as the series (`match[]`), labels, label values, index and
 * detected-labels endpoints take it: a stream selector, optionally with a pipeline, never a metric query.
 * @throws QueryParseError when the input is not a log selector, as `enforceLogQuery` otherwise.
 */
export function enforceLogSelector(selector: string, policy: LabelPolicy): string {
  const parsed = parseLogQuery(selector);
  assertLogExpression(parsed);
  if (policy.fullAccess) return selector;
  return rewriteSelectors(parsed, policy);
}

/**
 * `enforceLogSelector` for a parameter whose occurrences Loki ORs (the series API's `match[]`): one log selector
 * per policy selector, each the client's matchers and that selector's (`intersectStreamMatchers`); one element
 * under full access or a one-selector policy.
 */
export function enforceLogSelectors(selector: string, policy: LabelPolicy): string[] {
  if (policy.fullAccess || policy.selectors.length === 1) return [enforceLogSelector(selector, policy)];
  const parsed = parseLogQuery(selector);
  assertLogExpression(parsed);
  const [node, ...others] = findSelectors(parsed);
  if (node === undefined || others.length > 0) throw new QueryParseError('expected one log stream selector');
  const matchers = readSelectorMatchers(parsed, node);
  return policy.selectors.map(
    (s) => parsed.text.slice(0, node.from) + formatSelector(intersectStreamMatchers(matchers, s)) + parsed.text.slice(node.to),
  );
}

function rewriteSelectors(parsed: ParsedLogQuery, policy: LabelPolicy): string {
  const selectors = findSelectors(parsed);
  if (selectors.length === 0) return parsed.text;
  let out = '';
  let last = 0;
  for (const node of selectors) {
    const matchers = enforceStreamMatchers(readSelectorMatchers(parsed, node), policy);
    out += parsed.text.slice(last, node.from) + formatSelector(matchers);
    last = node.to;
  }
  return out + parsed.text.slice(last);
}

function assertLogExpression(parsed: ParsedLogQuery): void {
  const expr = parsed.tree.topNode.getChild('Expr');
  if (expr?.firstChild?.name !== 'LogExpr') throw new QueryParseError('expected a log stream selector');
}
