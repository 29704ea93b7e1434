import type { SyntaxNode, Tree } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { QueryParseError } from '../errors.js';
import { decodePromString } from './string-literal.js';

/**
 * What each node kind of the lezer PromQL grammar (promql.grammar) means to the enforcer. Every kind the
 * grammar can produce is listed; a kind missing here (a newer grammar, an error node) makes the query
 * unparsable, so nothing new can slip through unenforced (prom-label-proxy's EnforceNode does the same with
 * its `default:` case).
 * - `selector`: a VectorSelector, the only node that reads series; it is rewritten as a whole.
 * - `selector-part`: only legal inside a VectorSelector; met anywhere else, the query is refused.
 * - `comment`: removed from the output (see enforce.ts: Go ends a comment at \r, lezer only at \n).
 * - `string`: decoded (and so validated) with Go's rules.
 * - `structure`: operators, keywords, functions, durations, grouping labels: no series of their own.
 */
type NodeRole = 'selector' | 'selector-part' | 'comment' | 'string' | 'structure';

const SELECTOR_PARTS = [
  'Identifier',
  'LabelMatchers',
  'UnquotedLabelMatcher',
  'QuotedLabelMatcher',
  'MatchOp',
  'EqlSingle',
  'EqlRegex',
  'NeqRegex',
];

const STRUCTURE = [
  'PromQL',
  'inf',
  'nan',
  'Bool',
  'Ignoring',
  'On',
  'GroupLeft',
  'GroupRight',
  'Offset',
  'Atan2',
  'Avg',
  'Bottomk',
  'Count',
  'CountValues',
  'Group',
  'Max',
  'Min',
  'Quantile',
  'LimitK',
  'LimitRatio',
  'Stddev',
  'Stdvar',
  'Sum',
  'Topk',
  'By',
  'Without',
  'And',
  'Or',
  'Unless',
  'StartFn',
  'EndFn',
  'AtStart',
  'AtEnd',
  'Smoothed',
  'Anchored',
  'Fill',
  'FillLeft',
  'FillRight',
  'AggregateExpr',
  'AggregateOp',
  'AggregateModifier',
  'GroupingLabels',
  'LabelName',
  'QuotedLabelName',
  'FunctionCallBody',
  'BinaryExpr',
  'Pow',
  'BoolModifier',
  'MatchingModifierClause',
  'FillModifier',
  'FillClause',
  'NumberDurationLiteral',
  'FillLeftClause',
  'FillRightClause',
  'Mul',
  'Div',
  'Mod',
  'Add',
  'Sub',
  'Eql',
  'Gte',
  'Gtr',
  'TrimUpper',
  'TrimLower',
  'Lte',
  'Lss',
  'Neq',
  'FunctionCall',
  'FunctionIdentifier',
  'MatrixSelector',
  'DurationExpr',
  'UnaryOp',
  'DurationStep',
  'DurationRange',
  'DurationMinOf',
  'DurationMaxOf',
  'NumberDurationLiteralInDurationContext',
  'OffsetExpr',
  'OffsetDurationExpr',
  'AnchoredExpr',
  'SmoothedExpr',
  'ParenExpr',
  'SubqueryExpr',
  'UnaryExpr',
  'StepInvariantExpr',
  'At',
  'AtModifierPreprocessors',
  // Function names (FunctionIdentifier's children).
  'AbsentOverTime',
  'Absent',
  'Abs',
  'Acos',
  'Acosh',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'AvgOverTime',
  'Ceil',
  'Changes',
  'Clamp',
  'ClampMax',
  'ClampMin',
  'Cos',
  'Cosh',
  'CountOverTime',
  'DaysInMonth',
  'DayOfMonth',
  'DayOfWeek',
  'DayOfYear',
  'Deg',
  'Delta',
  'Deriv',
  'Exp',
  'FirstOverTime',
  'Floor',
  'HistogramCount',
  'HistogramFraction',
  'HistogramQuantile',
  'HistogramQuantiles',
  'HistogramStdDev',
  'HistogramStdVar',
  'HistogramSum',
  'HistogramAvg',
  'DoubleExponentialSmoothing',
  'Hour',
  'Idelta',
  'Increase',
  'Info',
  'Irate',
  'LabelReplace',
  'LabelJoin',
  'LastOverTime',
  'Ln',
  'Log10',
  'Log2',
  'MadOverTime',
  'MaxOverTime',
  'MinOverTime',
  'TsOfFirstOverTime',
  'TsOfMaxOverTime',
  'TsOfMinOverTime',
  'TsOfLastOverTime',
  'Minute',
  'Month',
  'Pi',
  'PredictLinear',
  'PresentOverTime',
  'QuantileOverTime',
  'Rad',
  'Rate',
  'Resets',
  'Round',
  'Scalar',
  'Sgn',
  'Sin',
  'Sinh',
  'Sort',
  'SortDesc',
  'SortByLabel',
  'SortByLabelDesc',
  'StartTimestamp',
  'Range',
  'Step',
  'Sqrt',
  'StddevOverTime',
  'StdvarOverTime',
  'SumOverTime',
  'Tan',
  'Tanh',
  'Timestamp',
  'Time',
  'Vector',
  'Year',
];

const NODE_ROLES: ReadonlyMap<string, NodeRole> = new Map<string, NodeRole>([
  ['VectorSelector', 'selector'],
  ['LineComment', 'comment'],
  ['StringLiteral', 'string'],
  ...SELECTOR_PARTS.map((name): [string, NodeRole] => [name, 'selector-part']),
  ...STRUCTURE.map((name): [string, NodeRole] => [name, 'structure']),
]);

/** A parsed query: its text, tree, and the nodes the enforcer acts on, in source order. */
export interface ParsedQuery {
  readonly text: string;
  readonly tree: Tree;
  readonly selectors: readonly SyntaxNode[];
  readonly comments: readonly SyntaxNode[];
}

/**
 * Parses a PromQL expression and checks every node: no error node, no unknown kind, no selector part outside
 * a selector, every string literal decodable. Throws QueryParseError otherwise.
 */
export function parsePromQL(text: string): ParsedQuery {
  if (text.trim() === '') throw new QueryParseError('empty query');
  const tree = parser.parse(text);
  const selectors: SyntaxNode[] = [];
  const comments: SyntaxNode[] = [];
  let insideSelector = 0;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) throw new QueryParseError(`syntax error at position ${ref.from}`);
      const role = NODE_ROLES.get(ref.name);
      if (role === undefined) throw new QueryParseError(`unsupported PromQL construct: ${ref.name}`);
      if (role === 'selector') {
        if (insideSelector > 0) throw new QueryParseError('nested selector');
        selectors.push(ref.node);
        insideSelector++;
      } else if (role === 'selector-part' && insideSelector === 0) {
        throw new QueryParseError(`unexpected ${ref.name} at position ${ref.from}`);
      } else if (role === 'comment') {
        comments.push(ref.node);
      } else if (role === 'string') {
        decodePromString(text.slice(ref.from, ref.to));
      }
      return undefined;
    },
    leave(ref) {
      if (ref.name === 'VectorSelector') insideSelector--;
    },
  });
  const top = tree.topNode;
  if (top.name !== 'PromQL' || top.from !== 0 || top.to !== text.length) {
    throw new QueryParseError('query was not parsed completely');
  }
  return { text, tree, selectors, comments };
}
