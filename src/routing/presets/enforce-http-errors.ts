import { AmbiguousJsonKey, InexpressiblePolicy, PolicyViolation, QueryParseError, UnsupportedInput } from '../../enforce/errors.js';
import { BadRequest, Forbidden, UnsupportedMediaType } from '../../core/http-errors.js';

/**
 * Translates the pure enforcers' errors into the gateway's HTTP errors (enforce/errors.ts documents the
 * mapping): QueryParseError → 400 `query_parse_error`, PolicyViolation → 403 `policy_violation`,
 * InexpressiblePolicy → 403 `policy_not_expressible`, AmbiguousJsonKey → 400 `ambiguous_json`, UnsupportedInput → 415 (media type) or 400 `unsupported_input`.
 * Anything else is returned unchanged, so send-error.ts turns it into a plain 500. The one translator: every
 * preset's transforms go through it.
 */
export function toHttpError(error: unknown): unknown {
  if (error instanceof QueryParseError) return new BadRequest('query_parse_error', error.message);
  if (error instanceof PolicyViolation) return new Forbidden('policy_violation', error.message);
  if (error instanceof InexpressiblePolicy) return new Forbidden('policy_not_expressible', error.message);
  if (error instanceof AmbiguousJsonKey) return new BadRequest('ambiguous_json', error.message);
  if (error instanceof UnsupportedInput) {
    return error.mediaType ? new UnsupportedMediaType(error.message) : new BadRequest('unsupported_input', error.message);
  }
  return error;
}

/** Runs an enforcement step (synchronous, or a promise) and throws its failure as an HTTP error. */
export function runEnforcer<T>(step: () => T): T {
  try {
    const result = step();
    return result instanceof Promise ? (result.catch(rethrowAsHttpError) as T) : result;
  } catch (error) {
    return rethrowAsHttpError(error);
  }
}

function rethrowAsHttpError(error: unknown): never {
  throw toHttpError(error);
}
