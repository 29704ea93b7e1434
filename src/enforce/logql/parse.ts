/**
 * Parses LogQL with @grafana/lezer-logql and refuses anything the enforcer cannot vouch for.
 *
 * lezer recovers from syntax errors by inserting error nodes instead of failing, so any error node is a
 * `QueryParseError`. Every node kind must be one this module has reviewed: a kind added by a future grammar
 * version throws rather than passing through unenforced (prom-label-proxy's `EnforceNode` does the same).
 */
import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode, Tree } from '@lezer/common';
import { QueryParseError } from '../errors.js';
import { decodeGoString } from '../go-string.js';

export interface ParsedLogQuery {
  readonly text: string;
  readonly tree: Tree;
}

/**
 * Node kinds of lezer-logql 0.3 that cannot select streams by themselves: only `Selector` does, and the
 * enforcer rewrites every one of them. Pipeline stages (line filters, parsers, label filters, formatters)
 * work on streams a selector already chose, so they can narrow the result or relabel it, never widen it.
 */
const REVIEWED_NODE_KINDS: ReadonlySet<string> = new Set(
  `LogQL Expr LogExpr MetricExpr Selector Matchers Matcher Identifier String Number Duration Bytes Range
   Eq Neq Re Nre Gtr Gte Lss Lte Eql Add Sub Mul Div Mod Pow And Or Unless Bool
   PipelineExpr PipelineStage Pipe LineFilters LineFilter Filter PipeExact PipeMatch PipePattern Npa FilterOp Ip
   OrFilter LabelParser Json Logfmt Unpack Pattern Regexp LogfmtParser LogfmtParserFlags ParserFlag
   JsonExpressionParser LogfmtExpressionParser LabelExtractionExpressionList LabelExtractionExpression
   LabelFilter IpLabelFilter UnitFilter DurationFilter BytesFilter NumberFilter LiteralExpr
   LineFormatExpr LineFormat LabelFormatExpr LabelFormat LabelsFormat LabelFormatMatcher
   DecolorizeExpr Decolorize DropLabelsExpr Drop DropLabels DropLabel KeepLabelsExpr Keep KeepLabels KeepLabel
   RangeAggregationExpr RangeOp CountOverTime Rate RateCounter BytesOverTime BytesRate AvgOverTime SumOverTime
   MinOverTime MaxOverTime StddevOverTime StdvarOverTime QuantileOverTime FirstOverTime LastOverTime
   AbsentOverTime LogRangeExpr OffsetExpr Offset UnwrapExpr Unwrap ConvOp BytesConv DurationConv
   DurationSecondsConv Grouping Labels By Without VectorAggregationExpr VectorOp Sum Avg Count Max Min Stddev
   Stdvar Bottomk Topk Approx_Topk Sort Sort_Desc LabelAggregationExpr LabelAggOp ApproxCountDistinct BinOpExpr BinOpModifier OnOrIgnoringModifier On Ignoring GroupLeft
   GroupRight GroupingLabels GroupingLabelList GroupingLabel LabelName LabelReplaceExpr LabelReplace
   VectorExpr Vector LineComment`.split(/\s+/),
);

/** Parses and checks a query; throws `QueryParseError` for syntax errors and unreviewed constructs. */
export function parseLogQuery(query: string): ParsedLogQuery {
  if (query.trim() === '') throw new QueryParseError('empty query');
  const tree = parser.parse(query);
  const literalRanges: [number, number][] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) throw new QueryParseError(`syntax error at position ${node.from}`);
      if (!REVIEWED_NODE_KINDS.has(node.name)) {
        throw new QueryParseError(`unsupported LogQL construct "${node.name}" at position ${node.from}`);
      }
      if (node.name === 'String') decodeGoString(query.slice(node.from, node.to));
      if (node.name === 'String' || node.name === 'LineComment') literalRanges.push([node.from, node.to]);
    },
  });
  assertNoGoComments(query, literalRanges);
  return { text: query, tree };
}

/**
 * Loki lexes with Go's `text/scanner`, which skips `//` and `/* *\/` comments; the lezer grammar knows only
 * `#`. Text lezer reads as code but Loki would skip (or the reverse) is how a selector could hide, so those
 * sequences are refused outside strings and `#` comments.
 */
function assertNoGoComments(query: string, literalRanges: readonly [number, number][]): void {
  let code = query;
  for (const [from, to] of literalRanges) code = code.slice(0, from) + ' '.repeat(to - from) + code.slice(to);
  const at = code.search(/\/[/*]/);
  if (at >= 0) throw new QueryParseError(`comments other than "#" are not supported (position ${at})`);
}

/** Every `Selector` node, in source order (selectors never nest). */
export function findSelectors(parsed: ParsedLogQuery): SyntaxNode[] {
  const selectors: SyntaxNode[] = [];
  parsed.tree.iterate({
    enter(node) {
      if (node.name !== 'Selector') return true;
      selectors.push(node.node);
      return false;
    },
  });
  return selectors;
}

/** The text of a node. */
export function readNodeText(parsed: ParsedLogQuery, node: SyntaxNode): string {
  return parsed.text.slice(node.from, node.to);
}
