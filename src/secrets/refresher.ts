import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { ReadinessCheck } from '../core/readiness.js';
import type { SecretSource } from './source.js';

/** What a refresher keeps: the parsed content of a secret (the static token set); its size is logged. */
export interface LoadedSecret {
  readonly size: number;
}

export interface TokenRefresherOptions<T extends LoadedSecret> {
  readonly source: SecretSource;
  /** Validates the raw value into a set; throws on invalid content (the last good set is then kept). */
  readonly parse: (raw: unknown) => T;
  /** 0: no periodic refresh (a source that cannot change, like the environment). */
  readonly refreshIntervalMs: number;
  /** /ready fails when the last successful refresh is older than this (`Infinity`: never stale). */
  readonly staleThresholdMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /**
   * One load is given up (a failed refresh) after this long; default 30 s. Bounds the first load a start or a
   * reload waits for when the secret store hangs instead of answering.
   */
  readonly loadTimeoutMs?: number;
}

/**
 * Keeps the token set fresh in the background. A failed refresh (source error or invalid content) is counted
 * and logged, and never empties or replaces the last good set: an outage of the secret store must not lock
 * everyone out. Staleness is reported through `readiness` instead, so the load balancer can decide.
 */
export interface TokenRefresher<T extends LoadedSecret = LoadedSecret> {
  /** First load, then the periodic refresh and the source's watch. Resolves after the first attempt. */
  start(): Promise<void>;
  /** Refreshes now (joins a refresh already running); resolves `true` when the set was replaced. */
  refreshNow(): Promise<boolean>;
  current(): T | undefined;
  /** Milliseconds since the last successful refresh; `undefined` before the first. */
  ageMs(): number | undefined;
  readonly readiness: ReadinessCheck;
  close(): void;
}

export function createTokenRefresher<T extends LoadedSecret>(options: TokenRefresherOptions<T>): TokenRefresher<T> {
  const { source, clock, logger } = options;
  const metrics = registerMetrics(options, () => ageMs());
  const log = logger.child({ component: 'secret-refresher', source: source.name });
  const abort = new AbortController();
  let tokens: T | undefined;
  let lastSuccessAt: number | undefined;
  let lastError: string | undefined;
  let inFlight: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopWatch: (() => void) | undefined;
  let closed = false;

  const ageMs = (): number | undefined => (lastSuccessAt === undefined ? undefined : clock.now() - lastSuccessAt);

  async function loadOnce(): Promise<boolean> {
    try {
      const timeout = AbortSignal.timeout(options.loadTimeoutMs ?? 30_000);
      const next = options.parse(await abortable(source.load(AbortSignal.any([abort.signal, timeout])), timeout));
      tokens = next;
      lastSuccessAt = clock.now();
      lastError = undefined;
      metrics.refreshes.inc({ source: source.name, result: 'success' });
      metrics.lastSuccess.set({ source: source.name }, lastSuccessAt / 1000);
      log.debug({ tokens: next.size }, 'token set refreshed');
      return true;
    } catch (error) {
      // Sources and the parser keep secrets out of their messages; log only name and message, not causes.
      lastError = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
      metrics.refreshes.inc({ source: source.name, result: 'failure' });
      log.warn({ error: lastError, keptPrevious: tokens !== undefined }, 'token set refresh failed');
      return false;
    }
  }

  function refreshNow(): Promise<boolean> {
    inFlight ??= loadOnce().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(): void {
    if (closed || options.refreshIntervalMs <= 0) return;
    timer = setTimeout(() => {
      void refreshNow().finally(schedule);
    }, options.refreshIntervalMs);
    timer.unref();
  }

  function notReadyReason(): string | undefined {
    const age = ageMs();
    if (age === undefined) {
      return `token set from ${source.name} never loaded${lastError ? ` (last error: ${lastError})` : ''}`;
    }
    if (age > options.staleThresholdMs) {
      return `token set from ${source.name} is stale: last successful refresh ${Math.round(age / 1000)}s ago (threshold ${Math.round(options.staleThresholdMs / 1000)}s)`;
    }
    return undefined;
  }

  return {
    async start() {
      await refreshNow();
      if (closed) return;
      schedule();
      stopWatch = source.watch?.(() => void refreshNow());
    },
    refreshNow,
    current: () => tokens,
    ageMs,
    readiness: Object.freeze({ name: `secrets:${source.name}`, notReadyReason }),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      stopWatch?.();
      abort.abort();
      source.close?.();
    },
  };
}

/** Rejects when `signal` aborts, for sources that ignore their signal (the refresher must not wait forever). */
function abortable<T>(load: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('load gave up: no answer within the load timeout'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    load.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function registerMetrics(options: TokenRefresherOptions<LoadedSecret>, ageMs: () => number | undefined) {
  const registers = [options.registry];
  const source = options.source.name;
  return {
    refreshes: new Counter({
      name: 'scopegate_secret_refresh_total',
      help: 'Token set refreshes by source and result (success, failure).',
      labelNames: ['source', 'result'] as const,
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'scopegate_secret_last_success_timestamp_seconds',
      help: 'Unix time of the last successful token set refresh.',
      labelNames: ['source'] as const,
      registers,
    }),
    age: new Gauge({
      name: 'scopegate_secret_age_seconds',
      help: 'Seconds since the last successful token set refresh (absent before the first).',
      labelNames: ['source'] as const,
      registers,
      collect() {
        const age = ageMs();
        if (age !== undefined) this.set({ source }, age / 1000);
      },
    }),
  };
}
