import type { ErrorCode } from '../core/error-codes.js';
import { HttpError, type ErrorCodeOf } from '../core/http-errors.js';

/**
 * A refusal by the limits stage; `rule` names the `[[limits.rules]]` entry, for the access log. The status is
 * the catalogue's for the code, as for every `HttpError`.
 */
export class LimitRefusal extends HttpError {
  readonly rule: string | undefined;
  constructor(code: ErrorCode, message: string, rule: string | undefined, headers: Record<string, string> = {}) {
    super(code, message, headers);
    this.rule = rule;
  }
}

/**
 * 429 with `Retry-After` in whole seconds, rounded up (RFC 9110 §10.2.3, RFC 6585 §4), never 0: a client that
 * waits that long gets through (unless others used the room meanwhile).
 */
export class TooManyRequests extends LimitRefusal {
  constructor(code: ErrorCodeOf<429>, message: string, rule: string, retryAfterMs: number) {
    super(code, message, rule, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) });
  }
}

/**
 * What the query cost guards answer (query-cost.ts): 422 for a query over a guard, 400 `invalid_time_range`
 * for a time they cannot read (so cannot check).
 */
export type QueryCostCode =
  | 'query_range_too_long'
  | 'step_too_small'
  | 'too_many_points'
  | 'query_too_long'
  | 'lookback_too_long'
  | 'invalid_time_range';

/** 422: a query over a cost guard (range, step, points, length, lookback), well-formed but refused. */
export class QueryTooExpensive extends LimitRefusal {
  constructor(code: QueryCostCode & ErrorCodeOf<422>, message: string, rule: string) {
    super(code, message, rule);
  }
}

/** A write over a size guard: 413 `body_too_large`, 422 `too_many_series`. */
export class WriteTooLarge extends LimitRefusal {
  constructor(code: 'body_too_large' | 'too_many_series', message: string, rule: string) {
    super(code, message, rule);
  }
}

/** 503: Redis did not answer and `on_backend_error = "deny"`. */
export class LimitsUnavailable extends LimitRefusal {
  constructor() {
    super('limits_unavailable', 'the limits backend is unavailable', undefined, { 'retry-after': '1' });
  }
}
