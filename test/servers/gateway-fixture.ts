import { after, before, beforeEach } from 'node:test';
import type { Clock } from '../../src/core/clock.js';
import { startTestGateway, type StartedGateway } from './gateway.js';
import { startRecordingUpstream, type RecordingUpstream, type RecordingUpstreamOptions } from './recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from './temp-token-file.js';

export interface GatewayFixtureOptions<Name extends string = never> {
  /** The token file's entries: `backend_type = "file"` with its path is added to the config. None: no file. */
  readonly tokens?: Record<string, unknown>;
  /** The recording upstream's handlers (default: 200 with an empty Prometheus answer). */
  readonly upstream?: RecordingUpstreamOptions;
  /** More recording upstreams, by name (a Loki and a Tempo, say), each with its handlers. */
  readonly upstreams?: Record<Name, RecordingUpstreamOptions>;
  /**
   * The gateway's config, given the recording upstream's URL and those of the named ones (a `file` table is
   * merged with the token file's path).
   */
  readonly config: (upstreamUrl: string, urls: Record<Name, string>) => Record<string, unknown>;
  /**
   * Starts what the config routes to besides the recording upstreams (a real Alertmanager), before the rest;
   * what it registers on `cleanup` runs after the gateway stopped. (node:test may run a file's top-level
   * `before` hooks concurrently, so a hook of the file's own cannot be relied on to run first.)
   */
  readonly before?: (cleanup: Cleanup) => Promise<void>;
  readonly clock?: Clock;
  readonly collectProcessMetrics?: boolean;
}

export interface GatewayFixture<Name extends string = never> {
  /** The recording upstream the config may route to. */
  readonly upstream: RecordingUpstream;
  /** The named recording upstreams. */
  readonly upstreams: Record<Name, RecordingUpstream>;
  /** The token file, which a test may rewrite (a rotation); undefined without `tokens`. */
  readonly tokens: TempTokenFile | undefined;
  /** The gateway; `stop()` may be called by the test, once or more (the cleanup waits for the same stop). */
  readonly gateway: StartedGateway;
  /** The gateway's proxy port, for raw connections (`raw-connection.ts`). */
  readonly port: number;
}

/** What registers the cleanup: a test's context `t`, or anything with the same `after`. */
export interface Cleanup {
  after(fn: () => Promise<void>): void;
}

async function start<Name extends string>(cleanup: Cleanup, options: GatewayFixtureOptions<Name>): Promise<GatewayFixture<Name>> {
  // Stopped last started first (the gateway before its upstream), even when a later start fails.
  const stops: (() => Promise<void>)[] = [];
  cleanup.after(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  await options.before?.({ after: (fn) => stops.push(fn) });
  const upstream = await startRecordingUpstream(options.upstream);
  stops.push(() => upstream.stop());
  const upstreams = {} as Record<Name, RecordingUpstream>;
  for (const [name, upstreamOptions] of Object.entries<RecordingUpstreamOptions>(
    options.upstreams ?? ({} as Record<Name, RecordingUpstreamOptions>),
  )) {
    const named = await startRecordingUpstream(upstreamOptions);
    stops.push(() => named.stop());
    upstreams[name as Name] = named;
  }
  const tokens = options.tokens === undefined ? undefined : await createTempTokenFile(options.tokens);
  if (tokens !== undefined) stops.push(() => tokens.remove());
  const urls = Object.fromEntries(Object.entries<RecordingUpstream>(upstreams).map(([name, u]) => [name, u.url])) as Record<Name, string>;
  const config = options.config(upstream.url, urls);
  const tokenConfig =
    tokens === undefined ? {} : { backend_type: 'file', file: { ...(config.file as object | undefined), path: tokens.path } };
  const started = await startTestGateway(
    { ...config, ...tokenConfig },
    {
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.collectProcessMetrics === undefined ? {} : { collectProcessMetrics: options.collectProcessMetrics }),
    },
  );
  // A test may stop the gateway itself (a shutdown under test); the cleanup then waits for that same stop.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= started.stop());
  stops.push(stop);
  return { upstream, upstreams, tokens, gateway: { ...started, stop }, port: Number(new URL(started.url).port) };
}

/**
 * A gateway in front of a recording upstream, with its token file, for one test: started now; stopped, and the
 * upstream and the file removed, when the test ends (as `signed-gateway.ts`).
 */
export function startGatewayFixture<Name extends string = never>(
  t: Cleanup,
  options: GatewayFixtureOptions<Name>,
): Promise<GatewayFixture<Name>> {
  return start(t, options);
}

/**
 * The same, shared by every test of a file: started before the first test, stopped after the last, the
 * upstreams' records cleared before each test. Call it at the top level of the file and read its fields in
 * tests and hooks (they throw before the gateway started).
 */
export function gatewayFixture<Name extends string = never>(options: GatewayFixtureOptions<Name>): GatewayFixture<Name> {
  let started: GatewayFixture<Name> | undefined;
  let stop: (() => Promise<void>) | undefined;
  const get = (): GatewayFixture<Name> => {
    if (started === undefined) throw new Error('the gateway fixture is read before its before() hook ran');
    return started;
  };
  before(async () => {
    started = await start({ after: (fn) => (stop = fn) }, options);
  });
  after(() => stop?.());
  beforeEach(() => {
    get().upstream.reset();
    for (const named of Object.values<RecordingUpstream>(get().upstreams)) named.reset();
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
