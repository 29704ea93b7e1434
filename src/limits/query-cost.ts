import type { Param } from '../enforce/params.js';
import type { QueryCostCode } from './limit-errors.js';
import { parseLokiTimeMs, parsePromDurationMs, parsePromTimeMs, parseStepMs, parseTempoTimeMs } from './query-time.js';

/**
 * The query cost guards of one rule, on the parameters exactly as they will be sent upstream (every occurrence
 * of each, after label enforcement), so no unchecked copy can reach the upstream. Pure: throws `QueryCostError`,
 * which the limiter answers (422, or 400 for a time it cannot read).
 *
 * - `query_range` (Prometheus/Mimir and Loki): `end − start ≤ maxRangeMs`, `step ≥ minStepMs`,
 *   `(end − start) / step + 1 ≤ maxPoints` (Prometheus refuses over 11,000 itself, Loki does not).
 *   Loki's defaults apply when absent: end = now, start = end − 1h, step = its default (the guard on step
 *   and points then passes: Loki picks at most ~250 points itself).
 * - Tempo search and TraceQL metrics query_range: as Loki's, with Tempo's times (integer Unix seconds, or
 *   nanoseconds when longer than 10 digits). Neither start nor end: counted as the last hour (Tempo then
 *   searches only recent data, and metrics default to the last hour); only one of them is refused as
 *   `invalid_time_range`, since how Tempo would widen it is not something to guess. No step (search never has
 *   one): Tempo picks it, the step and points guards pass.
 * - Any query: each `query` (Tempo: `q` and `query`) at most `maxQueryBytes` UTF-8 bytes.
 * - Instant queries: the largest range selector or subquery range plus the largest `offset`, at most
 *   `maxLookbackMs`. Found lexically, outside string literals: a bracket or `offset` inside a string is ignored,
 *   and anything that looks like a range counts, so the estimate errs on the side of refusing.
 */
export interface QueryCostLimits {
  readonly maxRangeMs?: number | undefined;
  readonly minStepMs?: number | undefined;
  readonly maxPoints?: number | undefined;
  readonly maxQueryBytes?: number | undefined;
  readonly maxLookbackMs?: number | undefined;
}

export type QueryKind = 'range' | 'instant';
export type QueryDialect = 'prometheus' | 'loki' | 'tempo';

export class QueryCostError extends Error {
  readonly code: QueryCostCode;
  constructor(code: QueryCostCode, message: string) {
    super(message);
    this.name = 'QueryCostError';
    this.code = code;
  }
}

const LOKI_DEFAULT_SPAN_MS = 3_600_000;
const TEMPO_DEFAULT_SPAN_MS = 3_600_000;
const QUERY_PARAMS: Readonly<Record<QueryDialect, readonly string[]>> = { prometheus: ['query'], loki: ['query'], tempo: ['q', 'query'] };

export function checkQueryCost(params: readonly Param[], kind: QueryKind, dialect: QueryDialect, limits: QueryCostLimits, nowMs: number): void {
  if (limits.maxQueryBytes !== undefined) {
    for (const [name, value] of params) {
      const bytes = Buffer.byteLength(value, 'utf8');
      if (QUERY_PARAMS[dialect].includes(name) && bytes > limits.maxQueryBytes) {
        throw new QueryCostError('query_too_long', `the query is ${bytes} bytes, over the limit of ${limits.maxQueryBytes}`);
      }
    }
  }
  if (kind === 'range') checkRange(params, dialect, limits, nowMs);
  else if (limits.maxLookbackMs !== undefined) {
    for (const [name, value] of params) if (name === 'query') checkLookback(value, limits.maxLookbackMs);
  }
}

function checkRange(params: readonly Param[], dialect: QueryDialect, limits: QueryCostLimits, nowMs: number): void {
  if (limits.maxRangeMs === undefined && limits.minStepMs === undefined && limits.maxPoints === undefined) return;
  const parseTime = dialect === 'loki' ? parseLokiTimeMs : dialect === 'tempo' ? parseTempoTimeMs : parsePromTimeMs;
  const starts = valuesOf(params, 'start', parseTime);
  const ends = valuesOf(params, 'end', parseTime);
  const steps = valuesOf(params, 'step', parseStepMs);
  if (dialect === 'tempo' && (starts.length === 0) !== (ends.length === 0)) {
    throw new QueryCostError('invalid_time_range', 'Tempo reads need both start and end, or neither');
  }
  // Prometheus needs all three (it refuses the request otherwise); Loki and Tempo have defaults.
  const defaultSpanMs = dialect === 'loki' ? LOKI_DEFAULT_SPAN_MS : dialect === 'tempo' ? TEMPO_DEFAULT_SPAN_MS : undefined;
  const end = Math.max(...(ends.length > 0 ? ends : defaultSpanMs !== undefined ? [nowMs] : [Number.NaN]));
  const start = Math.min(...(starts.length > 0 ? starts : defaultSpanMs !== undefined ? [end - defaultSpanMs] : [Number.NaN]));
  if (Number.isNaN(start) || Number.isNaN(end)) throw new QueryCostError('invalid_time_range', 'query_range needs start and end');
  const spanMs = Math.max(0, end - start);
  if (limits.maxRangeMs !== undefined && spanMs > limits.maxRangeMs) {
    throw new QueryCostError('query_range_too_long', `the query range is ${formatMs(spanMs)}, over the limit of ${formatMs(limits.maxRangeMs)}`);
  }
  if (steps.length === 0) {
    if (dialect !== 'prometheus') return;
    throw new QueryCostError('invalid_time_range', 'query_range needs step');
  }
  const step = Math.min(...steps);
  if (!(step > 0)) throw new QueryCostError('invalid_time_range', 'step must be positive');
  if (limits.minStepMs !== undefined && step < limits.minStepMs) {
    throw new QueryCostError('step_too_small', `the step is ${formatMs(step)}, under the minimum of ${formatMs(limits.minStepMs)}`);
  }
  const points = Math.floor(spanMs / step) + 1;
  if (limits.maxPoints !== undefined && points > limits.maxPoints) {
    throw new QueryCostError('too_many_points', `the query asks for ${points} points per series, over the limit of ${limits.maxPoints}; use a larger step`);
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
