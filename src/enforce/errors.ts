/**
 * Errors of the pure enforcers. They know nothing of HTTP; the endpoint step translates them
 * (QueryParseError → 400, PolicyViolation → 403, UnsupportedInput → 400/415, AmbiguousJsonKey → 400).
 */

/** The query could not be parsed (or holds a node kind the enforcer does not know). Never passed through. */
export class QueryParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryParseError';
  }
}

/** The request would read or write outside the policy (e.g. a pushed stream with another tenant's labels). */
export class PolicyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyViolation';
  }
}

/** The request is in a form the enforcer cannot check safely (unknown encoding, malformed body). */
export class UnsupportedInput extends Error {
  readonly mediaType: boolean;
  constructor(message: string, options: { mediaType?: boolean } = {}) {
    super(message);
    this.name = 'UnsupportedInput';
    this.mediaType = options.mediaType ?? false;
  }
}

/**
 * One field of a JSON body was given under two spellings a Go decoder reads as the same name (`id` and `ID`,
 * see go-json.ts). Never forwarded; the endpoint step answers 400 `ambiguous_json`.
 */
export class AmbiguousJsonKey extends UnsupportedInput {
  readonly keys: readonly [string, string];
  constructor(where: string, first: string, second: string) {
    super(`${where}: "${first}" and "${second}" name the same field`);
    this.name = 'AmbiguousJsonKey';
    this.keys = [first, second];
  }
}

/**
 * The identity's policy has several selectors (ORed) and this request cannot be limited to their union
 * exactly (a stream selector cannot OR, a write cannot be injected with two label sets, …). Refused, never
 * widened to a per-label merge; the endpoint step answers 403 `policy_not_expressible`.
 */
export class InexpressiblePolicy extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InexpressiblePolicy';
  }
}
