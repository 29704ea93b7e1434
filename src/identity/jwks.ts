import type { Clock } from '../core/clock.js';
import type { Authenticator, Credentials } from './authenticator.js';
import type { Identity } from './identity.js';
import { createIdentityFromClaims } from './jwt-claims.js';
import type { ClaimMapping, RolesMapping } from './jwt-claims.js';
import { readRoleNames, readRolesPolicy } from './jwt-claims.js';
import { JwtFlow } from './jwt-authenticator.js';
import type { ASYMMETRIC_ALGORITHMS } from '../config/sections/auth.js';
import type { JwksKeySource } from './jwks-source.js';

export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

export const DEFAULT_ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export interface JwksAuthOptions {
  readonly name?: string;
  /** The key set; started and closed by its owner (`createJwksAuthenticator` closes it on `close()`). */
  readonly source: JwksKeySource;
  /** Asymmetric algorithms only: a JWKS provider never accepts HS*, so a public key is never an HMAC secret. */
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  readonly issuer?: string;
  readonly audience?: readonly string[];
  readonly clockSkewMs?: number;
  readonly claims: ClaimMapping;
  /** Roles → policy through the ACL (and assumed roles), merged with the claims' own policy. */
  readonly roles?: RolesMapping;
  readonly foreignIssuers?: ReadonlySet<string>;
  readonly cacheMaxEntries?: number;
  readonly clock: Clock;
}

/**
 * Bearer JWTs signed by a key of a JSON Web Key Set (file or URL). Tenant, `namespaces` and `labels` claims
 * become the identity (`createIdentityFromClaims`), with the roles claim mapped through the ACL when set. Not mine: no bearer, not a JWT, or a JWT `isOwnJwt`
 * assigns elsewhere (set `issuer` when several JWT providers coexist). Verified tokens are cached until
 * `exp` and forgotten when the key set changes.
 */
export function createJwksAuthenticator(options: JwksAuthOptions): Authenticator {
  const name = options.name ?? 'jwks';
  const flow = new JwtFlow({
    ownership: {
      family: 'asymmetric',
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      ...(options.foreignIssuers !== undefined ? { foreignIssuers: options.foreignIssuers } : {}),
    },
    verify: {
      algorithms: options.algorithms ?? DEFAULT_ASYMMETRIC_ALGORITHMS,
      clockSkewMs: options.clockSkewMs ?? 30_000,
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
    },
    key: () => options.source.getKey,
    toIdentity: (payload) => {
      const rolesPolicy = options.roles === undefined ? undefined : readRolesPolicy(payload, options.roles, options.claims.policyLabel);
      const roles = options.roles === undefined ? undefined : readRoleNames(payload, options.roles);
      return createIdentityFromClaims({ payload, mapping: options.claims, authenticator: name, rolesPolicy, roles });
    },
    clock: options.clock,
    cacheMaxEntries: options.cacheMaxEntries ?? 10_000,
  });
  options.source.onChange(() => flow.clearCache());
  return {
    name,
    authenticate(credentials: Credentials): Promise<Identity | undefined> | undefined {
      const token = credentials.bearer?.token;
      return token === undefined ? undefined : flow.authenticateToken(token);
    },
    close: () => options.source.close(),
  };
}
