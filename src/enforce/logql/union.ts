import type { SyntaxNode } from '@lezer/common';
import type { LabelSelector } from '../../policy/label-policy.js';
import { InexpressiblePolicy } from '../errors.js';
import { findSelectors, type ParsedLogQuery } from './parse.js';
import { formatSelector, intersectStreamMatchers, readSelectorMatchers } from './selector.js';

/**
 * LogQL under a policy of several selectors S1 … Sn (ORed). A stream selector cannot OR, so:
 *
 * - a metric query is rewritten exactly: each range aggregation (`rate({…} | … [5m])`) becomes the union of its
 *   copies, one per policy selector, `(rate({u, S1} | … [5m]) or rate({u, S2} | … [5m]))` (each copy's selector
 *   is the client's matchers and Si's, `intersectStreamMatchers`). `or` keeps the left side and the right
 *   side's series whose labels are not on the left. A stream matching both selectors gives the same series on
 *   both sides; two different streams differ in a stream label, and a pipeline that cannot remove or rewrite
 *   stream labels keeps them apart (parsers suffix a clashing extracted label with `_extracted`). So only
 *   range aggregations with no grouping (`… by (x)` merges streams) and no `drop`, `keep`, `label_format` or
 *   `unpack` stage are distributed; `absent_over_time` (absent from the union is not absent from one copy) too
 *   is refused;
 * - a log query (streams, not numbers) cannot be expressed: refused. A policy whose selectors differ in one
 *   label only is one selector already (`unionLabelPolicies` joins them into one regex matcher), and is
 *   enforced as usual.
 * Refusals are InexpressiblePolicy (403 `policy_not_expressible`): never a wider selector.
 */

/** Pipeline stages that may remove or rewrite a stream label (then two streams could become one series). */
const RELABELLING_STAGES: ReadonlySet<string> = new Set(['DropLabelsExpr', 'KeepLabelsExpr', 'LabelFormatExpr', 'Unpack']);

export function rewriteUnionLogQuery(parsed: ParsedLogQuery, selectors: readonly LabelSelector[]): string {
  const units = findSelectors(parsed).map((selector) => ({ selector, unit: findUnit(selector) }));
  let out = '';
  let last = 0;
  for (const { selector, unit } of units) {
    const matchers = readSelectorMatchers(parsed, selector);
    const copies = selectors.map(
      (policySelector) =>
        parsed.text.slice(unit.from, selector.from) +
        formatSelector(intersectStreamMatchers(matchers, policySelector)) +
        parsed.text.slice(selector.to, unit.to),
    );
    out += `${parsed.text.slice(last, unit.from)}(${copies.join(' or ')})`;
    last = unit.to;
  }
  return out + parsed.text.slice(last);
}

function findUnit(selector: SyntaxNode): SyntaxNode {
  let node: SyntaxNode | null = selector.parent;
  while (node !== null && node.name !== 'RangeAggregationExpr') node = node.parent;
  if (node === null) {
    throw new InexpressiblePolicy('a LogQL log query cannot be limited exactly to several policy selectors (a metric query can)');
  }
  const op = node.getChild('RangeOp')?.firstChild?.name;
  if (node.getChild('Grouping') !== null || op === 'AbsentOverTime') {
    throw new InexpressiblePolicy(
      `a LogQL ${op === 'AbsentOverTime' ? 'absent_over_time' : 'range aggregation with by/without'} cannot be limited exactly to several policy selectors`,
    );
  }
  let relabels = false;
  node.toTree().iterate({
    enter: (n) => {
      if (RELABELLING_STAGES.has(n.name)) relabels = true;
    },
  });
  if (relabels) {
    throw new InexpressiblePolicy(
      'a LogQL metric query whose pipeline drops, keeps, formats or unpacks labels cannot be limited exactly to several policy selectors',
    );
  }
  return node;
}
