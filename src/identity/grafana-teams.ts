import type { Logger } from 'pino';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { ServiceUnavailable } from '../core/http-errors.js';
import type { ReadinessCheck } from '../core/readiness.js';

/** A Grafana team as its search API lists it. `key` is its uid where Grafana gives one, else its id. */
export interface GrafanaTeam {
  readonly key: string;
  readonly id: number;
  readonly uid: string | undefined;
  readonly name: string;
}

/** The whole user → teams map, as of one successful refresh. Only teams `isWanted` kept are in it. */
export interface TeamMap {
  readonly loadedAtMs: number;
  /** The teams of a user (`userId` of the members API, the id in `sub`); empty when none. */
  teamsOf(userId: string): readonly GrafanaTeam[];
  readonly userCount: number;
}

export interface TeamsRefreshMetrics {
  countRefresh(ok: boolean): void;
  track(lastSuccessMs: () => number | undefined, users: () => number | undefined): void;
}

export interface GrafanaTeamsOptions {
  /** Grafana's root_url, with its trailing slash. */
  readonly rootUrl: string;
  /** The org-Admin service-account token (read per refresh, so a rotated file is picked up by a reload). */
  readonly apiToken: string;
  /** Which teams to fetch members of (the configured ones); others grant nothing and are not fetched. */
  readonly isWanted: (team: GrafanaTeam) => boolean;
  readonly pageSize: number;
  readonly refreshIntervalMs: number;
  readonly gracePeriodMs: number;
  readonly fetchTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: TeamsRefreshMetrics;
  readonly dispatcher?: Dispatcher;
}

const MAX_PAGES = 1000;
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * Grafana's teams, refreshed every `refreshIntervalMs` (≤ 60 s) with an org-Admin service-account token:
 * `GET /api/teams/search?perpage=&page=` (all pages), then `GET /api/teams/:id/members` for each wanted team.
 * (`/api/users/:id/teams` refuses service-account tokens, so the map is built from the team side.)
 *
 * Fails closed, never wide:
 * - a refresh that fails in any part keeps the whole last map (never a half-built one);
 * - Grafana answers members with an empty list when the token lacks `org.users:read`: a team whose search
 *   entry counts members but whose member list is empty fails the refresh (logged, in /ready), rather than
 *   reading as "nobody is in this team";
 * - the last map is served until `refreshIntervalMs + gracePeriodMs` after it was loaded, then `current()`
 *   throws 503 `grafana_teams_stale`; never loaded: 503 `grafana_teams_unavailable`.
 */
export class GrafanaTeamsSync {
  readonly #options: GrafanaTeamsOptions;
  #map: TeamMap | undefined;
  #lastError = 'the Grafana team map was not loaded yet';
  #inFlight: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: GrafanaTeamsOptions) {
    this.#options = options;
    options.metrics?.track(
      () => this.#map?.loadedAtMs,
      () => this.#map?.userCount,
    );
  }

  /** First load (its failure is logged and shown in /ready, not thrown), then the refresh timer. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshIntervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Loads now (joining a load under way). True when a new map replaced the last. */
  refresh(): Promise<boolean> {
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** The map to decide with, or 503 when there is none fresh enough. */
  current(): TeamMap {
    const map = this.#map;
    if (map === undefined) throw new ServiceUnavailable('grafana_teams_unavailable', 'the Grafana team map is not loaded');
    if (this.#isStale(map)) throw new ServiceUnavailable('grafana_teams_stale', 'the Grafana team map is older than its grace period');
    return map;
  }

  get readiness(): ReadinessCheck {
    return {
      name: 'grafana:teams',
      notReadyReason: () => {
        const map = this.#map;
        if (map === undefined) return this.#lastError;
        if (this.#isStale(map)) return `the Grafana team map is stale (${this.#lastError})`;
        return undefined;
      },
    };
  }

  #isStale(map: TeamMap): boolean {
    return this.#options.clock.now() - map.loadedAtMs > this.#options.refreshIntervalMs + this.#options.gracePeriodMs;
  }

  async #load(): Promise<boolean> {
    try {
      const teams = (await this.#searchTeams()).filter(({ team }) => this.#options.isWanted(team));
      const byUser = new Map<string, GrafanaTeam[]>();
      for (const { team, memberCount } of teams) {
        const members = await this.#members(team);
        if (members.length === 0 && memberCount > 0) {
          throw new Error(
            `team ${JSON.stringify(team.name)} lists ${memberCount} members in search but none in its members (does the token have org.users:read?)`,
          );
        }
        for (const userId of members) {
          const list = byUser.get(userId) ?? [];
          list.push(team);
          byUser.set(userId, list);
        }
      }
      const loadedAtMs = this.#options.clock.now();
      this.#map = Object.freeze({ loadedAtMs, userCount: byUser.size, teamsOf: (userId: string) => byUser.get(userId) ?? [] });
      this.#options.metrics?.countRefresh(true);
      this.#options.logger.debug({ teams: teams.length, users: byUser.size }, 'Grafana team map refreshed');
      return true;
    } catch (error) {
      this.#lastError = `Grafana team map refresh failed: ${error instanceof Error ? error.message : String(error)}`;
      this.#options.metrics?.countRefresh(false);
      this.#options.logger.warn({ err: this.#lastError }, 'Grafana team map refresh failed; keeping the last map');
      return false;
    }
  }

  async #searchTeams(): Promise<{ team: GrafanaTeam; memberCount: number }[]> {
    const found: { team: GrafanaTeam; memberCount: number }[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const body = await this.#get(`api/teams/search?perpage=${this.#options.pageSize}&page=${page}`);
      const { teams, totalCount } = parseSearchPage(body);
      found.push(...teams);
      if (teams.length < this.#options.pageSize || (totalCount !== undefined && found.length >= totalCount)) return found;
    }
    throw new Error(`team search has more than ${MAX_PAGES} pages`);
  }

  async #members(team: GrafanaTeam): Promise<string[]> {
    // With Grafana's newer team API a team may come with id 0 and only a uid.
    const ref = team.id > 0 ? String(team.id) : encodeURIComponent(team.uid ?? '');
    const body = await this.#get(`api/teams/${ref}/members`);
    if (!Array.isArray(body)) throw new Error(`members of team ${JSON.stringify(team.name)} are not a list`);
    return body.map((member: unknown) => {
      const userId = (member as { userId?: unknown } | null)?.userId;
      if (typeof userId !== 'number' || !Number.isSafeInteger(userId))
        throw new Error(`a member of team ${JSON.stringify(team.name)} has no numeric userId`);
      return String(userId);
    });
  }

  async #get(path: string): Promise<unknown> {
    const url = new URL(path, this.#options.rootUrl).toString();
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', authorization: `Bearer ${this.#options.apiToken}` },
      headersTimeout: this.#options.fetchTimeoutMs,
      bodyTimeout: this.#options.fetchTimeoutMs,
      ...(this.#options.dispatcher !== undefined ? { dispatcher: this.#options.dispatcher } : {}),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`GET /${path.replace(/\?.*/, '')} answered ${response.statusCode}`);
    }
    const text = await response.body.text();
    if (text.length > MAX_RESPONSE_BYTES) throw new Error(`GET /${path} answered more than ${MAX_RESPONSE_BYTES} bytes`);
    return JSON.parse(text) as unknown;
  }
}

/** One page of `/api/teams/search`: `{ totalCount, teams: [{ id, uid, name, memberCount }], page, perPage }`. */
function parseSearchPage(body: unknown): { teams: { team: GrafanaTeam; memberCount: number }[]; totalCount: number | undefined } {
  const page = body as { teams?: unknown; totalCount?: unknown } | null;
  if (page === null || typeof page !== 'object' || !Array.isArray(page.teams)) throw new Error('team search answered no teams list');
  const teams = page.teams.map((entry: unknown) => {
    const t = entry as { id?: unknown; uid?: unknown; name?: unknown; memberCount?: unknown } | null;
    const id = typeof t?.id === 'number' && Number.isSafeInteger(t.id) ? t.id : 0;
    const uid = typeof t?.uid === 'string' && t.uid !== '' ? t.uid : undefined;
    if (typeof t?.name !== 'string' || (id <= 0 && uid === undefined)) throw new Error('team search lists a team without name, id or uid');
    const memberCount = typeof t.memberCount === 'number' ? t.memberCount : 0;
    return { team: Object.freeze({ key: uid ?? String(id), id, uid, name: t.name }), memberCount };
  });
  return { teams, totalCount: typeof page.totalCount === 'number' ? page.totalCount : undefined };
}
