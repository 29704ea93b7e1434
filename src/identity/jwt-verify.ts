import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { HttpError, Unauthorized } from '../core/http-errors.js';
import type { Clock } from '../core/clock.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../config/sections/auth.js';

/**
 * The one JWT verification step every JWT provider calls (HMAC, JWKS, OIDC). jose does the cryptography;
 * this file fixes the rules around it:
 * - algorithms are allow-listed per provider and checked by jose before any key is resolved, so `none` and
 *   HS/RS confusion (RFC 8725 §2.1, §3.1) are refused as `algorithm_not_allowed`;
 * - keys come only from the provider (secret or our own JWKS); the token's `jku`, `x5u` and `jwk` headers
 *   are never consulted (RFC 8725 §3.10) — jose ignores them, and nothing here reads them;
 * - `exp` is required; `nbf` and `iat` are checked against the injected clock with a skew allowance.
 */

export type AlgorithmFamily = 'hmac' | 'asymmetric';

/** A JWT in compact form: three base64url parts (the signature may be empty, as `alg: none` makes it). */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function isJwtShaped(token: string): boolean {
  return COMPACT_JWT.test(token);
}

/** Header and payload read without verification: used only to decide ownership, never to trust. */
export interface PeekedJwt {
  readonly alg: string | undefined;
  readonly iss: string | undefined;
  /** False when the parts are not base64url JSON: recognised as a JWT, but malformed. */
  readonly isDecodable: boolean;
}

export function peekJwt(token: string): PeekedJwt | undefined {
  if (!isJwtShaped(token)) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    const payload = decodeJwt(token);
    return {
      alg: typeof header.alg === 'string' ? header.alg : undefined,
      iss: typeof payload.iss === 'string' ? payload.iss : undefined,
      isDecodable: true,
    };
  } catch {
    return { alg: undefined, iss: undefined, isDecodable: false };
  }
}

/** How a provider recognises its own tokens when several JWT providers coexist. */
export interface JwtOwnership {
  /** The provider's issuer: if set, a token is its own exactly when `iss` equals it. */
  readonly issuer?: string;
  readonly family: AlgorithmFamily;
  /** Issuers other providers own: an issuer-less provider leaves their tokens alone. */
  readonly foreignIssuers?: ReadonlySet<string>;
}

/**
 * Decides "mine or not mine" for a JWT-shaped token, without trusting it:
 * 1. a provider with an issuer owns exactly the tokens whose `iss` is that issuer;
 * 2. an issuer-less provider leaves tokens of issuers other providers own, and tokens whose `alg` belongs to
 *    the other family (an HMAC provider never looks at RS256 tokens, a JWKS provider never at HS256 ones);
 * 3. anything else — `none`, unknown algs, undecodable parts — is claimed, so it is refused with a precise
 *    code instead of falling through.
 */
export function isOwnJwt(peeked: PeekedJwt, ownership: JwtOwnership): boolean {
  if (!peeked.isDecodable) return ownership.issuer === undefined;
  if (ownership.issuer !== undefined) return peeked.iss === ownership.issuer;
  if (peeked.iss !== undefined && ownership.foreignIssuers?.has(peeked.iss) === true) return false;
  const otherFamily: readonly string[] = ownership.family === 'hmac' ? ASYMMETRIC_ALGORITHMS : HMAC_ALGORITHMS;
  return peeked.alg === undefined || !otherFamily.includes(peeked.alg);
}

export interface VerifyJwtOptions {
  readonly algorithms: readonly string[];
  /** `iss` must equal this (or one of these). */
  readonly issuer?: string | readonly string[];
  /** `aud` must contain one of these. */
  readonly audience?: readonly string[];
  readonly clockSkewMs: number;
  readonly clock: Clock;
}

export type JwtKey = Uint8Array | JWTVerifyGetKey;

/**
 * Verifies signature and time claims; returns the payload with `exp` guaranteed. Throws `Unauthorized` with a
 * stable code; messages never contain the token.
 */
export async function verifyJwt(token: string, key: JwtKey, options: VerifyJwtOptions): Promise<JWTPayload & { exp: number }> {
  const nowMs = options.clock.now();
  const skewSeconds = Math.ceil(options.clockSkewMs / 1000);
  let payload: JWTPayload;
  try {
    const verifyOptions = {
      algorithms: [...options.algorithms],
      clockTolerance: skewSeconds,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
      ...(options.issuer !== undefined ? { issuer: typeof options.issuer === 'string' ? options.issuer : [...options.issuer] } : {}),
      ...(options.audience !== undefined ? { audience: [...options.audience] } : {}),
    };
    // Two calls rather than a union: jose's overloads differ for a secret and a key-resolver function.
    const result = key instanceof Uint8Array ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions);
    payload = result.payload;
  } catch (error) {
    // An HttpError from the key resolver (keys unavailable: 503) is already the answer.
    if (error instanceof HttpError) throw error;
    throw toUnauthorized(error);
  }
  assertIssuedInPast(payload, nowMs, skewSeconds);
  return payload as JWTPayload & { exp: number };
}

// jose checks `iat` only with maxTokenAge; a token issued in the future is as suspicious as one with a future
// `nbf` (RFC 7519 §4.1.6 leaves the check to the application).
function assertIssuedInPast(payload: JWTPayload, nowMs: number, skewSeconds: number): void {
  if (typeof payload.iat === 'number' && payload.iat > nowMs / 1000 + skewSeconds) {
    throw new Unauthorized('token_not_yet_valid', 'token issued in the future');
  }
}

/** Maps jose's error classes to our stable codes. Anything unexpected is a malformed token, never a pass. */
export function toUnauthorized(error: unknown): Unauthorized {
  if (error instanceof Unauthorized) return error;
  if (error instanceof errors.JWTExpired) return new Unauthorized('token_expired', 'token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) return claimFailure(error.claim, error.reason);
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new Unauthorized('algorithm_not_allowed', 'token algorithm is not allowed');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new Unauthorized('bad_signature', 'token signature verification failed');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new Unauthorized('unknown_key', 'no key matches the token');
  }
  return new Unauthorized('malformed_token', 'token is malformed');
}

function claimFailure(claim: string, reason: string): Unauthorized {
  if (reason === 'missing') return new Unauthorized('malformed_token', `token lacks the required "${claim}" claim`);
  switch (claim) {
    case 'nbf':
    case 'iat':
      return new Unauthorized('token_not_yet_valid', 'token is not yet valid');
    case 'iss':
      return new Unauthorized('wrong_issuer', 'token issuer is not accepted');
    case 'aud':
      return new Unauthorized('wrong_audience', 'token audience is not accepted');
    default:
      return new Unauthorized('invalid_claims', `token claim "${claim}" is invalid`);
  }
}
