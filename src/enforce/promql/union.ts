import type { SyntaxNode } from '@lezer/common';
import { InexpressiblePolicy } from '../errors.js';
import { intersectPolicy, type CompiledPolicy } from './inject.js';
import type { ParsedQuery } from './parse.js';
import { decodeSelector, printSelector } from './selector.js';

/**
 * The rewrite of a PromQL expression under a policy of several selectors S1 … Sn (ORed): the query must read
 * exactly the series of the union, which one list of ANDed matchers cannot say. Each vector selector is
 * replaced by the union of its copies, one per policy selector (`intersectPolicy`: the client's matchers are
 * kept and the policy selector's added, so each copy reads what both allow), at the smallest place where PromQL can write
 * a union without changing the answer (the "unit"):
 *
 * - an instant vector selector, with its `offset`/`@` modifiers: `(m{u, S1} offset 5m or m{u, S2} offset 5m)`.
 *   `or` keeps every element of its left side and the right side's elements whose label set (name included)
 *   is not on the left: a series matching both selectors has the same labels and value on both sides, so
 *   the result is the series of the union, each once — exactly what `m{u}` reads from the allowed series;
 * - a range vector selector cannot be ORed (`(a or b)[5m]` is not PromQL), so the function reading it is
 *   distributed: `rate(m{u, S1}[5m]) or rate(m{u, S2}[5m])`, only for the functions that compute each output
 *   series from one input series (PER_SERIES_RANGE_FUNCTIONS): a series in both copies gives the same output.
 *   Two different series that differ only by name give the same output labels; they match the same policy
 *   selectors (a policy never constrains `__name__` here, refused otherwise), so both sit in one copy and
 *   Prometheus refuses the duplicate there exactly as it would have;
 * - `timestamp(m)` reads the samples' own timestamps only when its argument is a vector selector, so it is
 *   distributed like a range function;
 * - `absent(m)` / `absent_over_time(m[5m])`: absent from the union means absent from every copy, so the copies
 *   are joined with `and on()`: `(absent(m{u, S1}) and on() absent(m{u, S2}))`. The labels of the answer are
 *   those of the first copy (the user's and S1's equality matchers), as a one-selector policy adds its own;
 * - everything else refuses (InexpressiblePolicy → 403 `policy_not_expressible`): a range selector outside a
 *   per-series function (a top-level `m[5m]`), the data-label selector of `info()`, a policy selector on
 *   `__name__`, or a rewrite that would grow past MAX_UNION_QUERY_LENGTH (units nest: each copy of a unit
 *   holds copies of the units inside it).
 * Comments are removed as in the one-selector rewrite. The result is re-checked by `findUnenforcedSelectors`.
 */

const PER_SERIES_RANGE_FUNCTIONS: ReadonlySet<string> = new Set([
  'Rate',
  'Irate',
  'Increase',
  'Delta',
  'Idelta',
  'Deriv',
  'Changes',
  'Resets',
  'PredictLinear',
  'DoubleExponentialSmoothing',
  'AvgOverTime',
  'MinOverTime',
  'MaxOverTime',
  'SumOverTime',
  'CountOverTime',
  'QuantileOverTime',
  'StddevOverTime',
  'StdvarOverTime',
  'LastOverTime',
  'FirstOverTime',
  'PresentOverTime',
  'MadOverTime',
  'TsOfFirstOverTime',
  'TsOfMaxOverTime',
  'TsOfMinOverTime',
  'TsOfLastOverTime',
]);

/** Nodes that modify the expression they wrap (their first child) without being an expression of their own. */
const MODIFIERS: ReadonlySet<string> = new Set(['OffsetExpr', 'StepInvariantExpr', 'AnchoredExpr', 'SmoothedExpr']);

/** Text ending in `group_left` / `group_right` with no label list (PromQL keywords are case-insensitive). */
const BARE_GROUP_MODIFIER = /\bgroup_(?:left|right)\s*$/i;

/** A rewrite longer than this is refused rather than sent (copies multiply with nesting). */
export const MAX_UNION_QUERY_LENGTH = 64 * 1024;

interface Unit {
  /** The node replaced by the combination of its copies. */
  readonly node: SyntaxNode;
  /** The vector selector whose copies make the unit's copies. */
  readonly selector: SyntaxNode;
  readonly join: ' or ' | ' and on() ';
}

interface Edit {
  readonly from: number;
  readonly to: number;
  readonly text: string;
  /** A unit's union, written in parentheses. */
  readonly isUnit?: boolean;
}

/** Rewrites `parsed` for the union of `selectors` (two or more compiled policy selectors). */
export function rewriteUnionQuery(parsed: ParsedQuery, selectors: readonly CompiledPolicy[]): string {
  if (selectors.some((s) => s.rules.some((r) => r.matcher.label === '__name__'))) {
    throw new InexpressiblePolicy('a PromQL query cannot be limited exactly to several policy selectors when one constrains __name__');
  }
  const units = parsed.selectors.map(findUnit);
  for (const unit of units) {
    if (units.some((other) => other !== unit && other.node.from === unit.node.from && other.node.to === unit.node.to)) {
      throw new InexpressiblePolicy('a PromQL function reading two selectors cannot be limited exactly to several policy selectors');
    }
  }
  const comments = parsed.comments.filter((c) => !parsed.selectors.some((s) => c.from >= s.from && c.to <= s.to));
  const text = parsed.text;

  const renderSpan = (from: number, to: number, self?: { unit: Unit; text: string }): string => {
    const inner = units.filter((u) => u !== self?.unit && u.node.from >= from && u.node.to <= to);
    const top = inner.filter((u) => !inner.some((o) => o !== u && o.node.from <= u.node.from && o.node.to >= u.node.to));
    const isInTop = (n: { from: number; to: number }): boolean => top.some((u) => n.from >= u.node.from && n.to <= u.node.to);
    const edits: Edit[] = [
      ...top.map((u) => ({ from: u.node.from, to: u.node.to, text: renderUnit(u), isUnit: true })),
      ...(self ? [{ from: self.unit.selector.from, to: self.unit.selector.to, text: self.text }] : []),
      ...comments.filter((c) => c.from >= from && c.to <= to && !isInTop(c)).map((c) => ({ from: c.from, to: c.to, text: ' ' })),
    ].sort((a, b) => a.from - b.from);
    let out = '';
    let at = from;
    for (const edit of edits) {
      out += text.slice(at, edit.from);
      // `group_left (a or b)` would read the parentheses as group_left's label list: give it an empty one.
      if (edit.isUnit === true && BARE_GROUP_MODIFIER.test(out)) out += '() ';
      out += edit.text;
      at = edit.to;
      if (out.length > MAX_UNION_QUERY_LENGTH) throw tooLarge();
    }
    return out + text.slice(at, to);
  };

  const renderUnit = (unit: Unit): string => {
    const decoded = decodeSelector(unit.selector, text);
    const copies = selectors.map((s) =>
      renderSpan(unit.node.from, unit.node.to, { unit, text: printSelector(intersectPolicy(decoded, s)) }),
    );
    return `(${copies.join(unit.join)})`;
  };

  const out = renderSpan(0, text.length);
  if (out.length > MAX_UNION_QUERY_LENGTH) throw tooLarge();
  return out;
}

function tooLarge(): InexpressiblePolicy {
  return new InexpressiblePolicy(`the query limited to several policy selectors would exceed ${MAX_UNION_QUERY_LENGTH} characters`);
}

/** The unit of a vector selector (see the module contract), or InexpressiblePolicy. */
function findUnit(selector: SyntaxNode): Unit {
  let node = selector;
  const isRange = node.parent?.name === 'MatrixSelector';
  if (isRange) node = node.parent as SyntaxNode;
  while (node.parent !== null && MODIFIERS.has(node.parent.name) && node.parent.firstChild?.from === node.from) node = node.parent;
  let outer = node;
  while (outer.parent?.name === 'ParenExpr') outer = outer.parent;
  const call = outer.parent?.name === 'FunctionCallBody' ? outer.parent.parent : null;
  const fn = call?.name === 'FunctionCall' ? call.getChild('FunctionIdentifier')?.firstChild?.name : undefined;
  if (call !== null && call.name === 'FunctionCall') {
    if (isRange && PER_SERIES_RANGE_FUNCTIONS.has(fn ?? '')) return { node: call, selector, join: ' or ' };
    if (isRange && fn === 'AbsentOverTime') return { node: call, selector, join: ' and on() ' };
    if (!isRange && fn === 'Timestamp') return { node: call, selector, join: ' or ' };
    if (!isRange && fn === 'Absent') return { node: call, selector, join: ' and on() ' };
    if (!isRange && fn === 'Info' && outer.prevSibling !== null) {
      throw new InexpressiblePolicy('the data-label selector of info() cannot be limited exactly to several policy selectors');
    }
  }
  if (isRange)
    throw new InexpressiblePolicy('a range vector outside a per-series function cannot be limited exactly to several policy selectors');
  return { node, selector, join: ' or ' };
}
