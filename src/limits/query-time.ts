/**
 * Times and durations as the upstreams read them, for the query cost guards. Each returns `undefined` for
 * text the upstream would refuse too (the guard then refuses it: a value we cannot read is never waved through).
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
const DURATION = /^(?:\d+(?:ms|[smhdwy]))+$/;
const DURATION_PART = /(\d+)(ms|[smhdwy])/g;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** Prometheus' `model.ParseDuration` ("1h30m", "2d", "1w"), in milliseconds. */
export function parsePromDurationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  return total;
}

/** A step or `time`-like duration: float seconds or a Prometheus duration (web/api/v1 parseDuration). */
export function parseStepMs(text: string): number | undefined {
  if (FLOAT.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? seconds * 1000 : undefined;
  }
  return parsePromDurationMs(text);
}

/** Prometheus' `parseTime`: float Unix seconds or RFC 3339. */
export function parsePromTimeMs(text: string): number | undefined {
  if (FLOAT.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? seconds * 1000 : undefined;
  }
  return parseRfc3339Ms(text);
}

/**
 * Loki's `parseTimestamp` (pkg/util/http.go): with a dot, float seconds; an integer of at most 10 digits is
 * seconds, a longer one nanoseconds; otherwise RFC 3339.
 */
export function parseLokiTimeMs(text: string): number | undefined {
  if (text.includes('.') && FLOAT.test(text)) return Number(text) * 1000;
  if (INTEGER.test(text)) return text.replace(/^[+-]/, '').length <= 10 ? Number(text) * 1000 : Number(BigInt(text) / 1_000_000n);
  return parseRfc3339Ms(text);
}

/**
 * Tempo's search and TraceQL metrics times: integer Unix seconds, or nanoseconds when longer than 10 digits.
 * Anything else (a fraction, RFC 3339, a duration) is not read: the guard refuses it.
 */
export function parseTempoTimeMs(text: string): number | undefined {
  if (!INTEGER.test(text)) return undefined;
  return text.replace(/^[+-]/, '').length <= 10 ? Number(text) * 1000 : Number(BigInt(text) / 1_000_000n);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function parseRfc3339Ms(text: string): number | undefined {
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
