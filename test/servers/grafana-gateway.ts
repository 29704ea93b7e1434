import { startTestGateway, type StartedGateway } from './gateway.js';
import { startGrafana, type GrafanaStandIn, type GrafanaTeamFixture, type SignOptions } from './grafana.js';
import { sendRaw, type RawResponse } from './http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.js';
import { createTempTokenFile } from './temp-token-file.js';

/** The data source's own credential (an allowed presenter) and another data source's (not one). */
export const GRAFANA_DS_TOKEN = 'ds-grafana-channel-token';
export const OTHER_DS_TOKEN = 'ds-other-channel-token';

/**
 * Teams of the stand-in: user 7 in alpha and beta, 8 in beta, 9 in gamma (mapped without a policy), 10 in an
 * unmapped team, 11 in no team. Mapped by name, by uid and by id (issue #20: by name or id, uid where present).
 */
export function defaultTeams(): GrafanaTeamFixture[] {
  return [
    { id: 1, uid: 'uid-alpha', name: 'alpha', members: [7] },
    { id: 2, uid: 'uid-beta', name: 'beta', members: [7, 8] },
    { id: 3, uid: 'uid-gamma', name: 'gamma', members: [9] },
    { id: 4, uid: 'uid-unmapped', name: 'unmapped', members: [10] },
  ];
}

export const DEFAULT_TEAM_MAP = [
  { name: 'alpha', tenants: ['tenant-a'], selectors: [{ namespace: 'team-a' }] },
  { uid: 'uid-beta', tenants: ['tenant-a'], selectors: [{ namespace: 'team-b' }] },
  { id: 3, tenants: ['tenant-a'] },
];

export interface ManualClock {
  now(): number;
  advance(ms: number): void;
}

export function manualClock(): ManualClock {
  let nowMs = Date.now();
  return {
    now: () => nowMs,
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

export interface GrafanaGatewayOptions {
  readonly teams?: GrafanaTeamFixture[];
  /** Keys of `[auth.grafana]` over the defaults. */
  readonly grafana?: Record<string, unknown>;
  /** The upstream; default a recording upstream. */
  readonly upstreamUrl?: string;
  readonly upstreamType?: string;
  /** Cache-Control of the stand-in's JWKS before the gateway starts. */
  readonly cacheControl?: string | undefined;
  /** Grafana's sub-path (root_url `http://host/grafana/`). */
  readonly subPath?: string;
  /** Other `[auth]` sections (basic, …). */
  readonly auth?: Record<string, unknown>;
  /** Keys of the one upstream over the defaults. */
  readonly upstream?: Record<string, unknown>;
  /** `[proxy.tls]`: an HTTPS listener (with `client_ca_file`, client certificates). */
  readonly tls?: Record<string, unknown>;
}

export interface GrafanaGateway {
  readonly grafana: GrafanaStandIn;
  readonly upstream: RecordingUpstream;
  readonly gateway: StartedGateway;
  readonly clock: ManualClock;
  /** A token as Grafana signs it now. */
  sign(options?: SignOptions): Promise<string>;
  /** A query through the gateway with the given headers. */
  query(headers: Record<string, string | string[]>, query?: string): Promise<RawResponse>;
  /** A query as Grafana sends it for the signed-in user: the data source's token and X-Grafana-Id. */
  asUser(token: string | string[], extra?: Record<string, string | string[]>, query?: string): Promise<RawResponse>;
  /** Waits (polling, bounded) until `check` holds, for what follows Grafana's refresh timer. */
  eventually(check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
}

/**
 * A gateway with `[auth.grafana]` in front of a recording upstream (or the given one), the Grafana stand-in
 * and a token file with the data source's credential (`grafana-ds`: presenter, with its own alerting policy)
 * and another data source's (`other-ds`). Everything is stopped when the test ends.
 */
export async function startGrafanaGateway(
  t: { after(fn: () => Promise<void>): void },
  options: GrafanaGatewayOptions = {},
): Promise<GrafanaGateway> {
  const clock = manualClock();
  const grafana = await startGrafana({
    nowSeconds: () => Math.floor(clock.now() / 1000),
    teams: options.teams ?? defaultTeams(),
    ...(options.subPath !== undefined ? { subPath: options.subPath } : {}),
  });
  t.after(() => grafana.stop());
  if ('cacheControl' in options) grafana.cacheControl = options.cacheControl;
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.stop());
  const tokens = await createTempTokenFile({
    [GRAFANA_DS_TOKEN]: { name: 'grafana-ds', tenants: ['tenant-a'], namespaces: ['alerting'] },
    [OTHER_DS_TOKEN]: { name: 'other-ds', tenants: ['tenant-a'], namespaces: ['team-a'] },
  });
  t.after(() => tokens.remove());
  const gateway = await startTestGateway(
    {
      backend_type: 'file',
      file: { path: tokens.path },
      auth: {
        ...options.auth,
        grafana: {
          url: grafana.url,
          api_token: grafana.apiToken,
          presenters: [{ authenticator: 'static-token', subject: 'grafana-ds' }],
          teams: DEFAULT_TEAM_MAP,
          teams_refresh_interval: '200ms',
          teams_grace_period: '60s',
          keys_min_refetch_interval: '10s',
          fetch_timeout: '2s',
          ...options.grafana,
        },
      },
      proxy: {
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        upstreams: [
          {
            name: 'prom',
            match: '.*',
            type: options.upstreamType ?? 'prometheus',
            upstream: options.upstreamUrl ?? upstream.url,
            ...options.upstream,
          },
        ],
      },
    },
    { clock },
  );
  t.after(() => gateway.stop());
  const query = (headers: Record<string, string | string[]>, q = 'up') =>
    sendRaw(gateway.url, { path: `/api/v1/query?query=${encodeURIComponent(q)}`, headers });
  return {
    grafana,
    upstream,
    gateway,
    clock,
    sign: (signOptions) => grafana.sign(signOptions),
    query,
    asUser: (token, extra = {}, q) => query({ authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-id': token, ...extra }, q),
    async eventually(check, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
