import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { Forbidden, HttpError, Unauthorized } from '../core/http-errors.js';
import type { ReadinessCheck } from '../core/readiness.js';
import type { GrafanaSection } from '../config/sections/auth.js';
import type { Credentials, PresentedAuthenticator } from './authenticator.js';
import { buildGrantPolicy, unionGrants, type GrafanaGrant } from './grafana-policy.js';
import { GrafanaTeamsSync, type GrafanaTeam, type TeamMap, type TeamsRefreshMetrics } from './grafana-teams.js';
import { createGrafanaTokenVerifier, type GrafanaPrincipal } from './grafana-token.js';
import { createIdentity, type Identity, type Scope } from './identity.js';
import type { JwksMetrics } from './jwks-metrics.js';
import { JwksKeySource } from './jwks-source.js';

export interface GrafanaAuthDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The teams API token, read by the caller (from `api_token` or `api_token_file`). */
  readonly apiToken: string;
  readonly keysMetrics?: JwksMetrics;
  readonly teamsMetrics?: TeamsRefreshMetrics;
  readonly dispatcher?: Dispatcher;
}

export interface GrafanaAuthenticator extends PresentedAuthenticator {
  readonly readiness: readonly ReadinessCheck[];
  /** The team map as Grafana holds it now (for `explain`); 503 as a request would get it. */
  teamsOf(userId: string): readonly GrafanaTeam[];
  /** The identity of a user id with the current team map, without a token (for `explain`). */
  identityOfUser(userId: string): Identity;
  /** First key fetch and first team map (failures are logged and shown in /ready, not thrown). */
  start(): Promise<void>;
  close(): void;
}

const NAME = 'grafana';

/** Grafana's root_url as its tokens' `iss` usually spell it: with one trailing slash. */
export function grafanaRootUrl(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * Grafana's signed-in users (`X-Grafana-Id`), presented by Grafana through the scopegate data source:
 * 1. the caller (the data source's own credential, already authenticated by the chain) or the verified
 *    client certificate must be one of `presenters`, else 403 `grafana_channel_not_allowed` (401
 *    `grafana_channel_missing` with neither) — a token replayed by anyone else is useless;
 * 2. the token is verified (grafana-token.ts): Grafana's keys, this org, exact issuer, time;
 * 3. a `user` gets the union of its mapped teams (grafana-teams.ts, refreshed from Grafana's API), a listed
 *    service account its own grant; anonymous, render and every other type are refused.
 * Deny by default at each step: no mapped team → 403 `grafana_no_team`; teams that grant no policy →
 * 403 `grafana_team_without_policy`; no fresh team map → 503.
 */
export function createGrafanaAuthenticator(section: GrafanaSection, deps: GrafanaAuthDeps): GrafanaAuthenticator {
  const rootUrl = grafanaRootUrl(section.url);
  const keys = new JwksKeySource({
    name: NAME,
    url: `${rootUrl}api/signing-keys/keys`,
    refreshIntervalMs: section.keys_max_age,
    minRefetchIntervalMs: section.keys_min_refetch_interval,
    staleAfterMs: section.keys_stale_after,
    fetchTimeoutMs: section.fetch_timeout,
    clock: deps.clock,
    logger: deps.logger,
    cacheControl: { maxAgeCapMs: section.keys_max_age, defaultAgeMs: section.keys_default_age },
    ...(deps.keysMetrics !== undefined ? { metrics: deps.keysMetrics } : {}),
    ...(deps.dispatcher !== undefined ? { dispatcher: deps.dispatcher } : {}),
  });
  const verifier = createGrafanaTokenVerifier({
    rootUrl,
    orgId: section.org_id,
    clockSkewMs: section.clock_skew,
    keys,
    clock: deps.clock,
    cacheMaxEntries: section.token_cache_size,
  });
  keys.onChange(() => verifier.clearCache());
  const grants = compileGrants(section);
  const teams = new GrafanaTeamsSync({
    rootUrl,
    apiToken: deps.apiToken,
    isWanted: (team) => grants.ofTeam(team).length > 0,
    pageSize: section.teams_page_size,
    refreshIntervalMs: section.teams_refresh_interval,
    gracePeriodMs: section.teams_grace_period,
    fetchTimeoutMs: section.fetch_timeout,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.teamsMetrics !== undefined ? { metrics: deps.teamsMetrics } : {}),
    ...(deps.dispatcher !== undefined ? { dispatcher: deps.dispatcher } : {}),
  });
  const presenters = new Set(section.presenters.flatMap((p) => ('authenticator' in p ? [presenterKey(p.authenticator, p.subject)] : [])));
  const certificatePresenters = new Set(section.presenters.flatMap((p) => ('client_certificate' in p ? [p.client_certificate] : [])));

  /** The channel: the caller's identity, or the verified client certificate, must be a presenter. */
  function checkChannel(credentials: Credentials, caller: Identity | undefined): void {
    if (caller !== undefined && presenters.has(presenterKey(caller.authenticator, caller.subject))) return;
    const certificate = credentials.clientCertificate?.subject;
    if (certificate !== undefined && certificatePresenters.has(certificate)) return;
    if (caller === undefined && certificate === undefined) {
      throw new Unauthorized(
        'grafana_channel_missing',
        'a Grafana user must come with the credential of the data source allowed to present it',
      );
    }
    const error = new Forbidden('grafana_channel_not_allowed', 'this credential is not allowed to present Grafana users');
    error.refusedSubject = caller?.subject ?? `certificate:${certificate}`;
    throw error;
  }

  function userIdentity(principal: Pick<GrafanaPrincipal, 'id' | 'orgId' | 'login'>, map: TeamMap, expiresAt?: number): Identity {
    const userTeams = map.teamsOf(principal.id);
    if (userTeams.length === 0) throw new Forbidden('grafana_no_team', `Grafana user ${principal.id} is in no team scopegate maps`);
    const granted = unionGrants(userTeams.flatMap((team) => grants.ofTeam(team)));
    if (granted.policy === undefined)
      throw new Forbidden('grafana_team_without_policy', `the teams of Grafana user ${principal.id} grant no label policy`);
    return toIdentity(
      `user:${principal.id}`,
      principal,
      granted,
      userTeams.map((t) => t.name),
      expiresAt,
    );
  }

  function toIdentity(
    sub: string,
    principal: Pick<GrafanaPrincipal, 'orgId' | 'login'>,
    granted: ReturnType<typeof unionGrants>,
    teamNames: readonly string[],
    expiresAt?: number,
  ): Identity {
    return createIdentity({
      subject: `grafana:${sub}`,
      tenants: granted.tenants,
      policy: granted.policy,
      scopes: granted.scopes,
      authenticator: NAME,
      grafana: { user: principal.login !== undefined ? `${sub} (${principal.login})` : sub, org: principal.orgId, teams: teamNames },
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
  }

  // The chain refuses an identity past `expiresAt`: the token's exp with the skew verification allowed.
  const skewSeconds = Math.ceil(section.clock_skew / 1000);
  // The identity of a verified token, as long as the team map it was computed from is current: the verifier
  // hands back the same principal object for the same token (its cache), so a request with a token seen before
  // costs a lookup here instead of the union of its teams' policies (~40 us). Weak: it lives as long as the
  // verifier keeps the principal.
  const identities = new WeakMap<GrafanaPrincipal, { readonly map: TeamMap | undefined; readonly identity: Identity }>();
  function presentedIdentity(principal: GrafanaPrincipal): Identity {
    // Checked on every request: a stale map refuses even a token whose identity is known.
    const map = principal.type === 'user' ? teams.current() : undefined;
    const known = identities.get(principal);
    if (known !== undefined && known.map === map) return known.identity;
    const identity = computeIdentity(principal, map);
    identities.set(principal, { map, identity });
    return identity;
  }

  function computeIdentity(principal: GrafanaPrincipal, map: TeamMap | undefined): Identity {
    const expiresAt = principal.exp + skewSeconds;
    if (map !== undefined) return userIdentity(principal, map, expiresAt);
    const grant = principal.type === 'service-account' ? grants.ofServiceAccount(principal.id) : undefined;
    if (grant === undefined) throw new Forbidden('grafana_identity_refused', `a Grafana ${principal.type} identity is not accepted`);
    if (grant.policy === undefined)
      throw new Forbidden('grafana_team_without_policy', "the Grafana service account's grant has no label policy");
    return toIdentity(`service-account:${principal.id}`, principal, unionGrants([grant]), [], expiresAt);
  }

  return {
    name: NAME,
    isPresented: (credentials: Credentials) => credentials.grafanaId !== undefined,
    async authenticatePresented(credentials, caller) {
      checkChannel(credentials, caller);
      const principal = await verifier.verify(credentials.grafanaId as string);
      try {
        return presentedIdentity(principal);
      } catch (error) {
        // Refused after verification: the access line names the Grafana user ("why was user 7 denied").
        if (error instanceof HttpError) error.refusedSubject = `grafana:${principal.type}:${principal.id}`;
        throw error;
      }
    },
    readiness: [keys.readiness, teams.readiness],
    teamsOf: (userId) => teams.current().teamsOf(userId),
    identityOfUser: (userId) => userIdentity({ id: userId, orgId: section.org_id }, teams.current()),
    async start() {
      await Promise.all([keys.start(), teams.start()]);
    },
    close() {
      keys.close();
      teams.close();
    },
  };
}

function presenterKey(authenticator: string, subject: string): string {
  return JSON.stringify([authenticator, subject]);
}

/** The configured grants, found by team name, uid or id, and by service-account id; compiled once. */
function compileGrants(section: GrafanaSection) {
  const toGrant = (entry: GrafanaSection['teams'][number] | GrafanaSection['service_accounts'][number]): GrafanaGrant =>
    Object.freeze({
      tenants: entry.tenants,
      policy: buildGrantPolicy(entry),
      scopes: entry.scopes as readonly Scope[],
    });
  const byName = new Map<string, GrafanaGrant[]>();
  const byUid = new Map<string, GrafanaGrant[]>();
  const byId = new Map<number, GrafanaGrant[]>();
  const add = <K>(map: Map<K, GrafanaGrant[]>, key: K, grant: GrafanaGrant) => map.set(key, [...(map.get(key) ?? []), grant]);
  for (const team of section.teams) {
    const grant = toGrant(team);
    if (team.name !== undefined) add(byName, team.name, grant);
    if (team.uid !== undefined) add(byUid, team.uid, grant);
    if (team.id !== undefined) add(byId, team.id, grant);
  }
  const accounts = new Map(section.service_accounts.map((a) => [String(a.id), toGrant(a)]));
  return {
    ofTeam: (team: GrafanaTeam): GrafanaGrant[] => [
      ...(byName.get(team.name) ?? []),
      ...(team.uid !== undefined ? (byUid.get(team.uid) ?? []) : []),
      ...(team.id > 0 ? (byId.get(team.id) ?? []) : []),
    ],
    ofServiceAccount: (id: string): GrafanaGrant | undefined => accounts.get(id),
  };
}
