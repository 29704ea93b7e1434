import { after, before, beforeEach } from 'node:test';
import type { Clock } from '../../src/core/clock.js';
import { startTestGateway, type StartedGateway } from './gateway.js';
import { startRecordingUpstream, type RecordingUpstream, type RecordingUpstreamOptions } from './recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from './temp-token-file.js';

export interface GatewayFixtureOptions {
  /** The token file's entries: `backend_type = "file"` with its path is added to the config. None: no file. */
  readonly tokens?: Record<string, unknown>;
  /** The recording upstream's handlers (default: 200 with an empty Prometheus answer). */
  readonly upstream?: RecordingUpstreamOptions;
  /** More recording upstreams, by name (a Loki and a Tempo, say), each with its handlers. */
  readonly upstreams?: Record<string, RecordingUpstreamOptions>;
  /**
   * The gateway's config, given the recording upstream's URL and those of the named ones (a `file` table is
   * merged with the token file's path).
   */
  readonly config: (upstreamUrl: string, urls: Record<string, string>) => Record<string, unknown>;
  readonly clock?: Clock;
  readonly collectProcessMetrics?: boolean;
}

export interface GatewayFixture {
  /** The recording upstream the config may route to. */
  readonly upstream: RecordingUpstream;
  /** The named recording upstreams. */
  readonly upstreams: Record<string, RecordingUpstream>;
  /** The token file, which a test may rewrite (a rotation); undefined without `tokens`. */
  readonly tokens: TempTokenFile | undefined;
  readonly gateway: StartedGateway;
  /** The gateway's proxy port, for raw connections (`raw-connection.ts`). */
  readonly port: number;
}

/** What registers the cleanup: a test's context `t`, or anything with the same `after`. */
export interface Cleanup {
  after(fn: () => Promise<void>): void;
}

async function start(cleanup: Cleanup, options: GatewayFixtureOptions): Promise<GatewayFixture> {
  // Stopped last started first (the gateway before its upstream), even when a later start fails.
  const stops: (() => Promise<void>)[] = [];
  cleanup.after(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  const upstream = await startRecordingUpstream(options.upstream);
  stops.push(() => upstream.stop());
  const upstreams: Record<string, RecordingUpstream> = {};
  for (const [name, upstreamOptions] of Object.entries(options.upstreams ?? {})) {
    const named = await startRecordingUpstream(upstreamOptions);
    stops.push(() => named.stop());
    upstreams[name] = named;
  }
  const tokens = options.tokens === undefined ? undefined : await createTempTokenFile(options.tokens);
  if (tokens !== undefined) stops.push(() => tokens.remove());
  const config = options.config(upstream.url, Object.fromEntries(Object.entries(upstreams).map(([name, u]) => [name, u.url])));
  const tokenConfig = tokens === undefined ? {} : { backend_type: 'file', file: { ...(config.file as object | undefined), path: tokens.path } };
  const gateway = await startTestGateway(
    { ...config, ...tokenConfig },
    {
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.collectProcessMetrics === undefined ? {} : { collectProcessMetrics: options.collectProcessMetrics }),
    },
  );
  stops.push(() => gateway.stop());
  return { upstream, upstreams, tokens, gateway, port: Number(new URL(gateway.url).port) };
}

/**
 * A gateway in front of a recording upstream, with its token file, for one test: started now; stopped, and the
 * upstream and the file removed, when the test ends (as `signed-gateway.ts`).
 */
export function startGatewayFixture(t: Cleanup, options: GatewayFixtureOptions): Promise<GatewayFixture> {
  return start(t, options);
}

/**
 * The same, shared by every test of a file: started before the first test, stopped after the last, the
 * upstreams' records cleared before each test. Call it at the top level of the file and read its fields in
 * tests and hooks (they throw before the gateway started). Hooks the file registers before this call run
 * before it starts (a real upstream the config routes to).
 */
export function gatewayFixture(options: GatewayFixtureOptions): GatewayFixture {
  let started: GatewayFixture | undefined;
  let stop: (() => Promise<void>) | undefined;
  const get = (): GatewayFixture => {
    if (started === undefined) throw new Error('the gateway fixture is read before its before() hook ran');
    return started;
  };
  before(async () => {
    started = await start({ after: (fn) => (stop = fn) }, options);
  });
  after(() => stop?.());
  beforeEach(() => {
    get().upstream.reset();
    for (const named of Object.values(get().upstreams)) named.reset();
  });
  return {
    get upstream() {
      return get().upstream;
    },
    get upstreams() {
      return get().upstreams;
    },
    get tokens() {
      return get().tokens;
    },
    get gateway() {
      return get().gateway;
    },
    get port() {
      return get().port;
    },
  };
}
