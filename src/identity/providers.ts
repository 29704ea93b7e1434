import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { ReadinessCheck } from '../core/readiness.js';
import { configErrorAt } from '../config/load.js';
import type { AclSection, AuthSection, FixedTenantSection, GrafanaSection, ProviderName } from '../config/sections/auth.js';
import { loadAclFile } from '../policy/acl.js';
import type { Acl } from '../policy/acl.js';
import { FULL_ACCESS, buildEntryPolicy } from '../policy/label-policy.js';
import type { Authenticator, PresentedAuthenticator } from './authenticator.js';
import { createBasicAuthenticator } from './basic-auth.js';
import { createFixedTenantAuthenticator } from './fixed-tenant.js';
import { createJwksMetrics, type JwksMetrics } from './jwks-metrics.js';
import type { ClaimMapping } from './jwt-claims.js';

export interface AuthProviderDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Where the signing-key metrics of JWKS/OIDC providers are registered. */
  readonly registry?: Registry;
  /** The core's static-token authenticator, placed where `order` says `static`. */
  readonly staticAuthenticator?: Authenticator;
}

export interface AuthProviders {
  /** In `[auth] order`; only configured providers. */
  readonly authenticators: readonly Authenticator[];
  /** Identities presented by an authenticated caller (`[auth.grafana]`); asked by the chain, not in `order`. */
  readonly presented: readonly PresentedAuthenticator[];
  readonly readiness: readonly ReadinessCheck[];
  close(): Promise<void>;
}

interface Built {
  readonly authenticator: Authenticator;
  readonly readiness?: ReadinessCheck;
}

/**
 * Builds the configured identity providers in the configured order. Files (users, ACL, secret) must load at
 * start (a broken file fails the start); JWKS/OIDC endpoints that are down do not (they show in /ready).
 * The JWT providers (and jose with them) are imported only when configured: a gateway of static tokens or
 * passwords never pays their memory and load time.
 *
 * Coexistence of JWT providers: a provider with an `issuer` owns exactly that issuer's tokens; issuer-less
 * ones skip tokens of the configured issuers and of the other algorithm family (see `isOwnJwt`).
 */
export async function createAuthenticators(
  config: { auth: AuthSection; acl?: AclSection },
  deps: AuthProviderDeps,
): Promise<AuthProviders> {
  const { auth } = config;
  const issuers = new Set([auth.hmac_jwt?.issuer, auth.jwks?.issuer, auth.oidc?.issuer].filter((i): i is string => i !== undefined));
  const aclSection = config.acl;
  const acl =
    aclSection !== undefined
      ? await underKey({ key: 'acl.file', path: aclSection.file }, () => loadAclFile(aclSection.file, { label: aclSection.label }))
      : undefined;
  const needsKeys = auth.jwks !== undefined || auth.oidc !== undefined || auth.grafana !== undefined;
  const jwksMetrics = needsKeys && deps.registry !== undefined ? createJwksMetrics(deps.registry, () => deps.clock.now()) : undefined;
  const built: Built[] = [];
  let grafana: Awaited<ReturnType<typeof buildGrafana>> | undefined;
  try {
    for (const name of auth.order) {
      const next = await underKey(providerKey(name, auth), () => buildProvider(name, auth, { deps, issuers, acl, jwksMetrics }));
      if (next !== undefined) built.push(next);
    }
    const grafanaSection = auth.grafana;
    if (grafanaSection !== undefined) {
      const at =
        grafanaSection.api_token_file !== undefined
          ? { key: 'auth.grafana.api_token_file', path: grafanaSection.api_token_file }
          : { key: 'auth.grafana' };
      grafana = await underKey(at, () => buildGrafana(grafanaSection, deps, jwksMetrics));
    }
  } catch (error) {
    await closeAll(built.map((b) => b.authenticator));
    throw error;
  }
  const authenticators = built.map((b) => b.authenticator);
  const presented = grafana !== undefined ? [grafana] : [];
  return {
    authenticators,
    presented,
    readiness: [...built.flatMap((b) => (b.readiness !== undefined ? [b.readiness] : [])), ...(grafana?.readiness ?? [])],
    close: () => closeAll([...authenticators.filter((a) => a !== deps.staticAuthenticator), ...presented]),
  };
}

/**
 * Runs one constructor; its failure (unreadable file, short secret, bad document) becomes a ConfigError that
 * names the key, which `serve` prints in one line and a reload logs.
 */
async function underKey<T>(at: { key: string; path?: string | undefined }, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    throw configErrorAt(at.key, error, at.path);
  }
}

/** Where a provider's start-up failure is reported: the file or secret it reads, else its section. */
function providerKey(name: ProviderName, auth: AuthSection): { key: string; path?: string | undefined } {
  if (name === 'basic') return { key: 'auth.basic.users_file', path: auth.basic?.users_file };
  if (name === 'hmac_jwt') {
    const file = auth.hmac_jwt?.secret_file;
    return file !== undefined ? { key: 'auth.hmac_jwt.secret_file', path: file } : { key: 'auth.hmac_jwt.secret' };
  }
  if (name === 'jwks' && auth.jwks?.file !== undefined) return { key: 'auth.jwks.file', path: auth.jwks.file };
  return { key: `auth.${name}` };
}

interface BuildContext {
  readonly deps: AuthProviderDeps;
  readonly jwksMetrics: JwksMetrics | undefined;
  readonly issuers: ReadonlySet<string>;
  readonly acl: Acl | undefined;
}

async function buildProvider(name: ProviderName, auth: AuthSection, ctx: BuildContext): Promise<Built | undefined> {
  const { clock, logger } = ctx.deps;
  switch (name) {
    case 'static':
      return ctx.deps.staticAuthenticator !== undefined ? { authenticator: ctx.deps.staticAuthenticator } : undefined;
    case 'basic': {
      const c = auth.basic;
      if (c === undefined) return undefined;
      return {
        authenticator: await createBasicAuthenticator({
          usersFile: c.users_file,
          policyLabel: c.policy_label,
          watch: c.watch,
          reloadIntervalMs: c.reload_interval,
          cacheTtlMs: c.cache_ttl,
          cacheMaxEntries: c.cache_size,
          clock,
          logger,
          ...(c.default_tenant !== undefined ? { defaultTenant: c.default_tenant } : {}),
        }),
      };
    }
    case 'hmac_jwt': {
      const c = auth.hmac_jwt;
      if (c === undefined) return undefined;
      const secret = c.secret !== undefined ? c.secret : (await readFile(c.secret_file as string, 'utf8')).trim();
      const { createHmacJwtAuthenticator } = await import('./hmac-jwt.js');
      return {
        authenticator: createHmacJwtAuthenticator({
          secret: new TextEncoder().encode(secret),
          algorithms: c.algorithms,
          clockSkewMs: c.clock_skew,
          claims: toClaimMapping(c),
          foreignIssuers: ctx.issuers,
          cacheMaxEntries: c.token_cache_size,
          clock,
          ...(c.issuer !== undefined ? { issuer: c.issuer } : {}),
          ...(c.audience !== undefined ? { audience: c.audience } : {}),
        }),
      };
    }
    case 'jwks': {
      const c = auth.jwks;
      if (c === undefined) return undefined;
      const [{ JwksKeySource }, { createJwksAuthenticator }] = await Promise.all([import('./jwks-source.js'), import('./jwks.js')]);
      const source = new JwksKeySource({
        name: 'jwks',
        refreshIntervalMs: c.refresh_interval,
        minRefetchIntervalMs: c.min_refetch_interval,
        staleAfterMs: c.stale_after,
        fetchTimeoutMs: c.fetch_timeout,
        clock,
        logger,
        ...(ctx.jwksMetrics !== undefined ? { metrics: ctx.jwksMetrics } : {}),
        ...(c.url !== undefined ? { url: c.url } : { file: c.file as string }),
      });
      await source.start();
      return {
        readiness: source.readiness,
        authenticator: createJwksAuthenticator({
          source,
          algorithms: c.algorithms,
          clockSkewMs: c.clock_skew,
          claims: toClaimMapping(c),
          ...(c.roles_claim !== undefined ? { roles: { rolesClaim: c.roles_claim, acl: ctx.acl, assumeRoles: c.assume_roles } } : {}),
          foreignIssuers: ctx.issuers,
          cacheMaxEntries: c.token_cache_size,
          clock,
          ...(c.issuer !== undefined ? { issuer: c.issuer } : {}),
          ...(c.audience !== undefined ? { audience: c.audience } : {}),
        }),
      };
    }
    case 'oidc': {
      const c = auth.oidc;
      if (c === undefined) return undefined;
      const { createOidcAuthenticator } = await import('./oidc.js');
      const oidc = createOidcAuthenticator({
        issuer: c.issuer,
        clientId: c.client_id,
        algorithms: c.algorithms,
        clockSkewMs: c.clock_skew,
        rolesClaim: c.roles_claim,
        assumeRoles: c.assume_roles,
        acceptIdTokenHeader: c.accept_id_token_header,
        claims: toClaimMapping(c),
        cacheMaxEntries: c.token_cache_size,
        clock,
        logger,
        jwks: {
          refreshIntervalMs: c.refresh_interval,
          minRefetchIntervalMs: c.min_refetch_interval,
          staleAfterMs: c.stale_after,
          fetchTimeoutMs: c.fetch_timeout,
        },
        ...(ctx.acl !== undefined ? { acl: ctx.acl } : {}),
        ...(c.audience !== undefined ? { audience: c.audience } : {}),
        ...(ctx.jwksMetrics !== undefined ? { metrics: ctx.jwksMetrics } : {}),
      });
      await oidc.whenStarted();
      return { authenticator: oidc, readiness: oidc.readiness };
    }
    case 'fixed_tenant': {
      const c = auth.fixed_tenant;
      return c === undefined
        ? undefined
        : { authenticator: createFixedTenantAuthenticator({ tenant: c.tenant, policy: toFixedPolicy(c), logger }) };
    }
  }
}

/**
 * `[auth.grafana]` (not a step of `order`: the chain asks it for the caller that presents a Grafana user).
 * The signing keys and the first team map are awaited, as JWKS keys are; their failure shows in /ready.
 */
export async function buildGrafana(c: GrafanaSection, deps: AuthProviderDeps, keysMetrics?: JwksMetrics) {
  const apiToken = c.api_token !== undefined ? c.api_token : (await readFile(c.api_token_file as string, 'utf8')).trim();
  const [{ createGrafanaAuthenticator }, { createTeamsMetrics }] = await Promise.all([
    import('./grafana.js'),
    import('./grafana-teams-metrics.js'),
  ]);
  const teamsMetrics = deps.registry !== undefined ? createTeamsMetrics(deps.registry, () => deps.clock.now()) : undefined;
  const grafana = createGrafanaAuthenticator(c, {
    clock: deps.clock,
    logger: deps.logger,
    apiToken,
    ...(keysMetrics !== undefined ? { keysMetrics } : {}),
    ...(teamsMetrics !== undefined ? { teamsMetrics } : {}),
  });
  await grafana.start();
  return grafana;
}

function toClaimMapping(c: {
  tenant_claim: string;
  default_tenant?: string | undefined;
  namespaces_claim: string;
  labels_claim: string;
  selectors_claim: string;
  policy_label: string;
}): ClaimMapping {
  return {
    tenantClaim: c.tenant_claim,
    namespacesClaim: c.namespaces_claim,
    labelsClaim: c.labels_claim,
    selectorsClaim: c.selectors_claim,
    policyLabel: c.policy_label,
    ...(c.default_tenant !== undefined ? { defaultTenant: c.default_tenant } : {}),
  };
}

function toFixedPolicy(c: FixedTenantSection) {
  if (c.full_access) return FULL_ACCESS;
  return buildEntryPolicy({ label: c.policy_label, values: c.namespaces, labels: c.labels, selectors: c.selectors });
}

async function closeAll(authenticators: readonly (Authenticator | PresentedAuthenticator)[]): Promise<void> {
  await Promise.all(authenticators.map(async (a) => a.close?.()));
}
