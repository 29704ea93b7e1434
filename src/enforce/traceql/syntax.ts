import type { SyntaxNode, Tree } from '@lezer/common';
import { parser } from '@grafana/lezer-traceql';
import { QueryParseError } from '../errors.js';

/**
 * Every node kind of @grafana/lezer-traceql 1.x the enforcer knows. A kind outside this set (a newer grammar)
 * makes the query refused, never passed through unchecked (prom-label-proxy's `EnforceNode` default case).
 * Only `SpansetFilter` selects spans; every other kind combines, pipes, aggregates or names things.
 */
const KNOWN_NODES: ReadonlySet<string> = new Set([
  'TraceQL',
  'SpansetPipelineExpression',
  'WrappedSpansetPipeline',
  'SpansetPipeline',
  'SpansetExpression',
  'SpansetFilter',
  'And',
  'Gt',
  'Desc',
  'Lt',
  'Anc',
  'Or',
  'Pipe',
  'ExperimentalOp',
  'UnionStructuralOp',
  'FieldExpression',
  'FieldOp',
  'Static',
  'String',
  'Integer',
  'Float',
  'Duration',
  'TemplateVariable',
  'IntrinsicField',
  'Parent',
  'AttributeField',
  'Identifier',
  'Event',
  'Instrumentation',
  'Link',
  'Resource',
  'Span',
  'ScalarFilter',
  'ScalarExpression',
  'ScalarOp',
  'Aggregate',
  'AggregateExpression',
  'ComparisonOp',
  'GroupOperation',
  'SelectOperation',
  'SelectArgs',
  'CoalesceOperation',
  'MetricsOperation',
  'MetricsOperationBasic',
  'MetricsOperationBasicType',
  'MetricsOperationHistogram',
  'MetricsExpression',
  'MetricsOperationQuantile',
  'MetricsOperationQuantileArgs',
  'MetricsOperationQuantileArgsType',
  'MetricsOperationCompare',
  'MetricsOverTime',
  'MetricsOverTimeType',
  'MetricsAggregatorFunctions',
  'MetricsAggregatorFunctionType',
  'WithHint',
  'With',
  'HintParameters',
  'HintParameter',
  'HintIdentifier',
  'HintValue',
  'LineComment',
  'BlockComment',
]);

const COMMENTS: ReadonlySet<string> = new Set(['LineComment', 'BlockComment']);

export interface TextRange {
  readonly from: number;
  readonly to: number;
}

export interface FilterNode extends TextRange {
  /** `{}` or `{ }`: no condition inside. */
  readonly isEmpty: boolean;
  /** The filter's condition (`FieldExpression`), absent when empty. */
  readonly condition: SyntaxNode | undefined;
}

export interface ParsedTraceQuery {
  readonly tree: Tree;
  readonly filters: readonly FilterNode[];
  readonly comments: readonly TextRange[];
}

/**
 * Parses a TraceQL query and checks it is one the enforcer can reason about: no syntax error, only known node
 * kinds, and every spanset that feeds an operator or starts a pipeline is a `{…}` filter (a pipeline that
 * starts with `select(…)`, `by(…)` or `count() > 1` would read spans no filter constrains). Throws
 * `QueryParseError` otherwise.
 */
export function parseTraceQuery(query: string): ParsedTraceQuery {
  const tree = parser.parse(query);
  const filters: FilterNode[] = [];
  const comments: TextRange[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) throw new QueryParseError(`TraceQL syntax error at position ${ref.from}`);
      if (!KNOWN_NODES.has(ref.name)) throw new QueryParseError(`unsupported TraceQL construct: ${ref.name}`);
      if (COMMENTS.has(ref.name)) comments.push({ from: ref.from, to: ref.to });
      if (ref.name === 'SpansetFilter') filters.push(describeFilter(query, ref.node));
    },
  });
  const top = tree.topNode.getChild('SpansetPipelineExpression');
  if (top === null) throw new QueryParseError('empty TraceQL query');
  assertSourcesAreFilters(top);
  return { tree, filters, comments };
}

function describeFilter(query: string, node: SyntaxNode): FilterNode {
  if (query[node.from] !== '{' || query[node.to - 1] !== '}') {
    throw new QueryParseError('TraceQL spanset filter without braces');
  }
  const condition = node.getChild('FieldExpression') ?? undefined;
  return { from: node.from, to: node.to, isEmpty: condition === undefined, condition };
}

/** Named children, comments left out. */
export function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (!COMMENTS.has(child.name)) children.push(child);
  }
  return children;
}

/**
 * Walks the positions that produce spansets out of nothing: both operands of a spanset operator
 * (`&&`, `||`, `>>`, `~`, `!>>`, `&>>` …) and the left end of a pipeline (`a | b`: only `a` reads the trace;
 * `b` reads what `a` passed on). Each must end in `{…}` filters.
 */
function assertSourcesAreFilters(node: SyntaxNode): void {
  const children = childrenOf(node);
  switch (node.name) {
    case 'SpansetPipelineExpression': {
      const operands = children.filter((c) => c.name === 'SpansetPipelineExpression');
      const isPipe = children.some((c) => c.name === 'Pipe');
      const sources = isPipe ? operands.slice(0, 1) : operands;
      const rest = children.filter((c) => c.name === 'WrappedSpansetPipeline' || c.name === 'SpansetPipeline');
      if (sources.length + rest.length === 0) throw new QueryParseError('TraceQL expression without a spanset');
      for (const child of [...sources, ...rest]) assertSourcesAreFilters(child);
      return;
    }
    case 'WrappedSpansetPipeline':
    case 'SpansetPipeline':
    case 'SpansetExpression': {
      const inner = children.filter((c) => c.name !== 'And' && c.name !== 'Or' && !isSpansetOperator(c.name));
      if (inner.length === 0) throw new QueryParseError('TraceQL expression without a spanset');
      for (const child of inner) assertSourcesAreFilters(child);
      return;
    }
    case 'SpansetFilter':
      return;
    default:
      throw new QueryParseError(`TraceQL pipeline must start with a spanset filter {…}, not ${node.name}`);
  }
}

function isSpansetOperator(name: string): boolean {
  return ['Gt', 'Lt', 'Desc', 'Anc', 'ExperimentalOp', 'UnionStructuralOp'].includes(name);
}
