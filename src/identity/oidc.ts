import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import type { ReadinessCheck } from '../core/readiness.js';
import { ServiceUnavailable } from '../core/http-errors.js';
import type { Acl } from '../policy/acl.js';
import type { Authenticator, Credentials } from './authenticator.js';
import type { Identity } from './identity.js';
import type { JwksMetrics } from './jwks-metrics.js';
import { JwksKeySource } from './jwks-source.js';
import { DEFAULT_ASYMMETRIC_ALGORITHMS } from './jwks.js';
import type { AsymmetricAlgorithm } from './jwks.js';
import { createIdentityFromClaims, readRoleNames, readRolesPolicy } from './jwt-claims.js';
import type { ClaimMapping } from './jwt-claims.js';
import { JwtFlow } from './jwt-authenticator.js';
import { discoverOidc } from './oidc-discovery.js';

export interface OidcOptions {
  readonly name?: string;
  /** Exactly as the IdP writes `iss`. */
  readonly issuer: string;
  readonly clientId: string;
  /** `aud` must contain one of these; default `[clientId]`. */
  readonly audience?: readonly string[];
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  readonly clockSkewMs?: number;
  /** Dotted path of the roles claim (default `roles`; Keycloak: `realm_access.roles`). */
  readonly rolesClaim?: string;
  readonly acl?: Acl;
  /** lfgw's assumed roles: a role the ACL does not know is itself a label value. */
  readonly assumeRoles?: boolean;
  readonly claims: ClaimMapping;
  /** Accept Grafana's forwarded ID token (`X-Id-Token`) when no bearer of ours came with the request. */
  readonly acceptIdTokenHeader?: boolean;
  readonly jwks: {
    readonly refreshIntervalMs: number;
    readonly minRefetchIntervalMs: number;
    readonly staleAfterMs: number;
    readonly fetchTimeoutMs: number;
  };
  readonly cacheMaxEntries?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dispatcher?: Dispatcher;
  readonly metrics?: JwksMetrics;
}

export interface OidcAuthenticator extends Authenticator {
  readonly readiness: ReadinessCheck;
  /** Settles when the first discovery attempt (and first key fetch) finished, successful or not. */
  whenStarted(): Promise<void>;
  close(): void;
}

/**
 * OpenID Connect bearer tokens: discovery → jwks_uri → `JwksKeySource`; `iss` must equal the issuer and `aud`
 * contain the client id. Roles from the roles claim go through the ACL (and assumed roles) into a policy,
 * merged with any `namespaces`/`labels` claims. Not mine: tokens of other issuers.
 *
 * Discovery that fails at start does not stop the gateway: it is retried on the JWKS refresh interval,
 * /ready says why, and this issuer's tokens get 503 `jwks_unavailable` meanwhile.
 */
export function createOidcAuthenticator(options: OidcOptions): OidcAuthenticator {
  const name = options.name ?? 'oidc';
  const rolesClaim = options.rolesClaim ?? 'roles';
  let source: JwksKeySource | undefined;
  let discoveryError = 'OIDC discovery not done yet';
  // Resolved per token: the key set exists only once discovery succeeded.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (source === undefined) throw new ServiceUnavailable('jwks_unavailable', 'identity provider keys are not available');
    return source.getKey(header, token);
  };

  const flow = new JwtFlow({
    ownership: { family: 'asymmetric', issuer: options.issuer },
    verify: {
      algorithms: options.algorithms ?? DEFAULT_ASYMMETRIC_ALGORITHMS,
      clockSkewMs: options.clockSkewMs ?? 30_000,
      issuer: options.issuer,
      audience: options.audience ?? [options.clientId],
    },
    key: () => getKey,
    toIdentity: (payload) => {
      const rolesPolicy = readRolesPolicy(
        payload,
        { rolesClaim, acl: options.acl, assumeRoles: options.assumeRoles ?? false },
        options.claims.policyLabel,
      );
      // Roles are read (and must be well-formed) only where they are mapped, as for the policy.
      const roles = options.acl !== undefined || options.assumeRoles ? readRoleNames(payload, { rolesClaim }) : undefined;
      return createIdentityFromClaims({ payload, mapping: options.claims, authenticator: name, rolesPolicy, roles });
    },
    clock: options.clock,
    cacheMaxEntries: options.cacheMaxEntries ?? 10_000,
  });

  let discoveryTimer: NodeJS.Timeout | undefined;
  async function discover(): Promise<void> {
    try {
      const metadata = await discoverOidc(options.issuer, options.jwks);
      const next = new JwksKeySource({
        name,
        url: metadata.jwksUri,
        ...options.jwks,
        clock: options.clock,
        logger: options.logger,
        ...(options.dispatcher !== undefined ? { dispatcher: options.dispatcher } : {}),
        ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
      });
      next.onChange(() => flow.clearCache());
      await next.start();
      source = next;
      if (discoveryTimer !== undefined) clearInterval(discoveryTimer);
      discoveryTimer = undefined;
    } catch (error) {
      discoveryError = `OIDC discovery failed: ${error instanceof Error ? error.message : String(error)}`;
      options.logger.warn({ authenticator: name, err: discoveryError }, 'OIDC discovery failed; will retry');
    }
  }
  const started = discover().then(() => {
    if (source === undefined && discoveryTimer === undefined) {
      discoveryTimer = setInterval(() => void discover(), options.jwks.refreshIntervalMs);
      discoveryTimer.unref();
    }
  });

  return {
    name,
    async authenticate(credentials: Credentials): Promise<Identity | undefined> {
      await started;
      const bearer = credentials.bearer?.token;
      if (bearer !== undefined && flow.isOwn(bearer)) return flow.verifyToken(bearer);
      const idToken = options.acceptIdTokenHeader === true ? credentials.idToken : undefined;
      if (idToken !== undefined && flow.isOwn(idToken)) return flow.verifyToken(idToken);
      return undefined;
    },
    whenStarted: () => started,
    readiness: {
      name: `oidc:${name}`,
      notReadyReason: () => (source === undefined ? discoveryError : source.readiness.notReadyReason()),
    },
    close() {
      if (discoveryTimer !== undefined) clearInterval(discoveryTimer);
      source?.close();
    },
  };
}
