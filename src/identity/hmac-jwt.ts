import type { Clock } from '../core/clock.js';
import type { Authenticator, Credentials } from './authenticator.js';
import type { Identity } from './identity.js';
import { createIdentityFromClaims } from './jwt-claims.js';
import type { ClaimMapping } from './jwt-claims.js';
import { JwtFlow } from './jwt-authenticator.js';
import type { HMAC_ALGORITHMS } from '../config/sections/auth.js';

export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

export interface HmacJwtOptions {
  readonly name?: string;
  /** The shared secret; RFC 7518 §3.2 requires at least as many bytes as the hash output (32 for HS256). */
  readonly secret: Uint8Array;
  readonly algorithms?: readonly HmacAlgorithm[];
  readonly issuer?: string;
  readonly audience?: readonly string[];
  readonly clockSkewMs?: number;
  readonly claims: ClaimMapping;
  /** Issuers other JWT providers own (see `isOwnJwt`); ignored when `issuer` is set. */
  readonly foreignIssuers?: ReadonlySet<string>;
  readonly cacheMaxEntries?: number;
  readonly clock: Clock;
}

const MIN_SECRET_BYTES: Readonly<Record<HmacAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Bearer JWTs signed with a shared secret (HS256/384/512 only: an HMAC provider never accepts an asymmetric
 * alg, so an RS256 token can never be checked against this secret, nor an HS256 one against a public key).
 * Not mine: no bearer, not a JWT, or a JWT `isOwnJwt` assigns to another provider.
 */
export function createHmacJwtAuthenticator(options: HmacJwtOptions): Authenticator {
  const name = options.name ?? 'hmac_jwt';
  const algorithms = options.algorithms ?? ['HS256'];
  assertSecretLength(options.secret, algorithms);
  const flow = new JwtFlow({
    ownership: {
      family: 'hmac',
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      ...(options.foreignIssuers !== undefined ? { foreignIssuers: options.foreignIssuers } : {}),
    },
    verify: {
      algorithms,
      clockSkewMs: options.clockSkewMs ?? 30_000,
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
    },
    key: () => options.secret,
    toIdentity: (payload) => createIdentityFromClaims({ payload, mapping: options.claims, authenticator: name }),
    clock: options.clock,
    cacheMaxEntries: options.cacheMaxEntries ?? 10_000,
  });
  return {
    name,
    authenticate(credentials: Credentials): Promise<Identity | undefined> | undefined {
      const token = credentials.bearer?.token;
      return token === undefined ? undefined : flow.authenticateToken(token);
    },
  };
}

/** RFC 7518 §3.2: the secret has at least as many bytes as the hash output. `check-config` calls this too. */
export function assertSecretLength(secret: Uint8Array, algorithms: readonly HmacAlgorithm[]): void {
  const needed = Math.max(...algorithms.map((alg) => MIN_SECRET_BYTES[alg]));
  if (secret.byteLength < needed) {
    throw new Error(
      `the secret is ${secret.byteLength} bytes; ${algorithms.join(', ')} needs at least ${needed} (RFC 7518 §3.2): use a longer random secret, e.g. openssl rand -base64 ${needed}`,
    );
  }
}
