import type { Param } from '../enforce/params.js';
import type { EndpointQuery, QueryDialect, QueryTimes, SpanDefaults, TimeFormat, TimeRole } from '../routing/endpoint.js';
import type { QueryCostCode } from './limit-errors.js';
import { parseLokiTimeMs, parsePromDurationMs, parsePromTimeMs, parseStepMs, parseTempoTimeMs } from './query-time.js';

/**
 * The query cost guards of one rule, on the parameters exactly as they will be sent upstream (every occurrence
 * of each, after label enforcement), so no unchecked copy can reach the upstream. What a parameter means is the
 * endpoint row's (`EndpointQuery`: its query parameters, language, kind and the times its API reads), never
 * its name. Pure: throws `QueryCostError`, which the limiter answers (422, or 400 for a time it cannot read).
 *
 * - Every query of an instant, range or search row (its `params`): at most `maxQueryBytes` UTF-8 bytes.
 *   Lookups (`series`) are not costed.
 * - A row whose API reads a span (`times.span`): the span as the API would read it, from every time parameter
 *   it reads (a `since` as much as a `start`), at most `maxRangeMs`. With several occurrences the widest
 *   counts (earliest start, latest end, longest since). Defaults as the row declares: `required` refuses a
 *   missing start or end as `invalid_time_range`; `since`: end = now, start = min(end, now) − since;
 *   `both-or-neither`: one alone is refused (how the API would widen it is not something to guess), neither
 *   counts as `spanMs`.
 * - A row that reads `step`: `step ≥ minStepMs` and `span / step + 1 ≤ maxPoints` (Prometheus refuses over
 *   11,000 itself, Loki does not). No step where the API picks one: the step and points guards pass (Loki
 *   picks at most ~250 points itself); where the span is `required`, a missing step is refused.
 * - Instant queries in a language with range selectors (PromQL, MetricsQL, LogQL): the largest range selector
 *   or subquery range plus the largest `offset`, at most `maxLookbackMs`. Found lexically, outside string
 *   literals: a bracket or `offset` inside a string is ignored, and anything that looks like a range counts, so
 *   the estimate errs on the side of refusing. An instant's `time` is not bounded: when it evaluates does not
 *   change what it costs.
 */
export interface QueryCostLimits {
  readonly maxRangeMs?: number | undefined;
  readonly minStepMs?: number | undefined;
  readonly maxPoints?: number | undefined;
  readonly maxQueryBytes?: number | undefined;
  readonly maxLookbackMs?: number | undefined;
}

export class QueryCostError extends Error {
  readonly code: QueryCostCode;
  constructor(code: QueryCostCode, message: string) {
    super(message);
    this.name = 'QueryCostError';
    this.code = code;
  }
}

const PARSE_TIME: Readonly<Record<TimeFormat, (text: string) => number | undefined>> = {
  'unix-or-rfc3339': parsePromTimeMs,
  'unix-nanos-or-rfc3339': parseLokiTimeMs,
  'unix-integer': parseTempoTimeMs,
};

/** The languages with range selectors and `offset`, whose instant queries look back. */
const LOOKBACK_DIALECTS: ReadonlySet<QueryDialect> = new Set(['promql', 'metricsql', 'logql']);

/** The span (end − start) and step a request's first `start`, `end` and `step` name, where it names them (for accounting). */
export function readSpanAndStep(
  params: readonly Param[],
  times: QueryTimes | undefined,
): { spanMs: number | undefined; stepMs: number | undefined } {
  if (times === undefined) return { spanMs: undefined, stepMs: undefined };
  const first = (role: TimeRole, parse: (text: string) => number | undefined): number | undefined => {
    const name = times.params[role];
    const found = name === undefined ? undefined : params.find(([key]) => key === name);
    return found === undefined ? undefined : parse(found[1].trim());
  };
  const start = first('start', PARSE_TIME[times.format]);
  const end = first('end', PARSE_TIME[times.format]);
  return { spanMs: start !== undefined && end !== undefined ? Math.max(0, end - start) : undefined, stepMs: first('step', parseStepMs) };
}

/** Whether the guards read anything of this row's query (so the limiter need not read its parameters). */
export function isCostedQuery(query: EndpointQuery | undefined): query is EndpointQuery {
  return query !== undefined && query.kind !== 'series';
}

export function checkQueryCost(params: readonly Param[], query: EndpointQuery, limits: QueryCostLimits, nowMs: number): void {
  if (!isCostedQuery(query)) return;
  if (limits.maxQueryBytes !== undefined) {
    for (const [name, value] of params) {
      const bytes = Buffer.byteLength(value, 'utf8');
      if (query.params.includes(name) && bytes > limits.maxQueryBytes) {
        throw new QueryCostError('query_too_long', `the query is ${bytes} bytes, over the limit of ${limits.maxQueryBytes}`);
      }
    }
  }
  if (query.times?.span !== undefined) checkSpan(params, query.times, query.times.span, limits, nowMs);
  if (query.kind === 'instant' && LOOKBACK_DIALECTS.has(query.dialect) && limits.maxLookbackMs !== undefined) {
    for (const [name, value] of params) if (query.params.includes(name)) checkLookback(value, limits.maxLookbackMs);
  }
}

function checkSpan(params: readonly Param[], times: QueryTimes, span: SpanDefaults, limits: QueryCostLimits, nowMs: number): void {
  if (limits.maxRangeMs === undefined && limits.minStepMs === undefined && limits.maxPoints === undefined) return;
  const parseTime = PARSE_TIME[times.format];
  const read = (role: TimeRole, parse: (text: string) => number | undefined): number[] => {
    const name = times.params[role];
    return name === undefined ? [] : valuesOf(params, name, parse);
  };
  const starts = read('start', parseTime);
  const ends = read('end', parseTime);
  const sinces = read('since', parsePromDurationMs);
  const steps = read('step', parseStepMs);
  let start: number;
  let end: number;
  switch (span.kind) {
    case 'required':
      if (starts.length === 0 || ends.length === 0) throw new QueryCostError('invalid_time_range', 'query_range needs start and end');
      [start, end] = [Math.min(...starts), Math.max(...ends)];
      break;
    case 'since': {
      end = ends.length > 0 ? Math.max(...ends) : nowMs;
      const sinceMs = sinces.length > 0 ? Math.max(...sinces) : span.sinceMs;
      start = starts.length > 0 ? Math.min(...starts) : Math.min(end, nowMs) - sinceMs;
      break;
    }
    case 'both-or-neither':
      if ((starts.length === 0) !== (ends.length === 0))
        throw new QueryCostError('invalid_time_range', 'this API needs both start and end, or neither');
      [start, end] = starts.length > 0 ? [Math.min(...starts), Math.max(...ends)] : [nowMs - span.spanMs, nowMs];
      break;
  }
  const spanMs = Math.max(0, end - start);
  if (limits.maxRangeMs !== undefined && spanMs > limits.maxRangeMs) {
    throw new QueryCostError(
      'query_range_too_long',
      `the query range is ${formatMs(spanMs)}, over the limit of ${formatMs(limits.maxRangeMs)}`,
    );
  }
  if (times.params.step === undefined) return;
  if (steps.length === 0) {
    if (span.kind !== 'required') return;
    throw new QueryCostError('invalid_time_range', 'query_range needs step');
  }
  const step = Math.min(...steps);
  if (!(step > 0)) throw new QueryCostError('invalid_time_range', 'step must be positive');
  if (limits.minStepMs !== undefined && step < limits.minStepMs) {
    throw new QueryCostError('step_too_small', `the step is ${formatMs(step)}, under the minimum of ${formatMs(limits.minStepMs)}`);
  }
  const points = Math.floor(spanMs / step) + 1;
  if (limits.maxPoints !== undefined && points > limits.maxPoints) {
    throw new QueryCostError(
      'too_many_points',
      `the query asks for ${points} points per series, over the limit of ${limits.maxPoints}; use a larger step`,
    );
  }
}

/** Every occurrence of `name`, parsed; one that cannot be read is refused. */
function valuesOf(params: readonly Param[], name: string, parse: (text: string) => number | undefined): number[] {
  const out: number[] = [];
  for (const [key, value] of params) {
    if (key !== name) continue;
    const parsed = parse(value.trim());
    if (parsed === undefined) throw new QueryCostError('invalid_time_range', `cannot read ${name}=${JSON.stringify(value.slice(0, 64))}`);
    out.push(parsed);
  }
  return out;
}

// String literals of PromQL and LogQL: "…" and '…' with backslash escapes, `…` raw.
const STRING_LITERAL = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/gs;
const RANGE = /\[\s*([0-9a-z]+)\s*(?::\s*([0-9a-z]*)\s*)?\]/gi;
const OFFSET = /\boffset\s+(-?)\s*([0-9a-z]+)/gi;

/** Largest range (or subquery range) plus largest offset; an unreadable duration counts as too long. */
export function estimateLookbackMs(query: string): number {
  const code = query.replace(STRING_LITERAL, '""');
  let range = 0;
  for (const match of code.matchAll(RANGE)) range = Math.max(range, parsePromDurationMs((match[1] as string).toLowerCase()) ?? Infinity);
  let offset = 0;
  for (const match of code.matchAll(OFFSET)) {
    if (match[1] === '-') continue; // a negative offset looks forward
    offset = Math.max(offset, parsePromDurationMs((match[2] as string).toLowerCase()) ?? Infinity);
  }
  return range + offset;
}

function checkLookback(query: string, maxLookbackMs: number): void {
  const lookback = estimateLookbackMs(query);
  if (lookback > maxLookbackMs) {
    const shown = Number.isFinite(lookback) ? formatMs(lookback) : 'unreadable';
    throw new QueryCostError('lookback_too_long', `the query looks back ${shown}, over the limit of ${formatMs(maxLookbackMs)}`);
  }
}

function formatMs(ms: number): string {
  if (ms >= 86_400_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`;
  return `${ms}ms`;
}
