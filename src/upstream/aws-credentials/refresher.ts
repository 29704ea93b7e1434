import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { ReadinessCheck } from '../../core/readiness.js';
import { createCircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import { CredentialSourceError, isUsableAt, type AwsCredentials, type CredentialProvider } from './credentials.js';
import type { AwsCredentialMetrics, RefreshResult } from './metrics.js';
import { timerScheduler, type Scheduler } from './scheduler.js';

export interface RefresherOptions {
  /** Upstream name: metric label, log field and readiness name. */
  readonly upstream: string;
  readonly provider: CredentialProvider;
  /** Refresh at least this long before expiry (config `refresh_before`, default 5m). */
  readonly refreshBeforeMs: number;
  /** After a failed refresh, try again this much later (or when an open breaker lets a trial through). */
  readonly retryAfterFailureMs: number;
  /** Abort one fetch from the source after this long. */
  readonly fetchTimeoutMs: number;
  readonly breaker: BreakerOptions;
}

export interface RefresherDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: AwsCredentialMetrics;
  readonly scheduler?: Scheduler;
}

export interface CredentialRefresher {
  /** The credentials to sign with now, or undefined when none are loaded or they have expired. */
  current(): AwsCredentials | undefined;
  /** Fetch from the source now (single-flight), through the breaker; also reschedules the next refresh. */
  refreshNow(): Promise<RefreshResult>;
  /** First fetch; resolves with its result (it never rejects: a failure is retried in the background). */
  start(): Promise<RefreshResult>;
  breakerState(): BreakerState;
  readonly readiness: ReadinessCheck;
  close(): void;
}

/**
 * When to refresh credentials fetched at `fetchedAtMs` that expire at `expiresAtMs`: `refreshBeforeMs` or a fifth
 * of their lifetime before expiry, whichever comes first, but never before half the lifetime has passed (so
 * short-lived Vault leases under 10 minutes are not refreshed in a tight loop).
 */
export function computeRefreshAtMs(fetchedAtMs: number, expiresAtMs: number, refreshBeforeMs: number): number {
  const lifetimeMs = Math.max(0, expiresAtMs - fetchedAtMs);
  const marginMs = Math.min(Math.max(refreshBeforeMs, lifetimeMs / 5), lifetimeMs / 2);
  return Math.round(expiresAtMs - marginMs);
}

/**
 * Keeps one upstream's AWS credentials fresh in the background. A failed refresh keeps serving the current
 * credentials until they expire (an STS or Vault outage shorter than the remaining lifetime is invisible to
 * users); a circuit breaker stops calls to a source that keeps failing; /ready reports not ready only when no
 * unexpired credentials remain.
 */
export function createCredentialRefresher(options: RefresherOptions, deps: RefresherDeps): CredentialRefresher {
  const { clock, metrics } = deps;
  const scheduler = deps.scheduler ?? timerScheduler;
  const logger = deps.logger.child({ component: 'aws_credentials', upstream: options.upstream, source: options.provider.kind });
  const breaker = createCircuitBreaker(options.breaker);
  const closing = new AbortController();
  let credentials: AwsCredentials | undefined;
  let lastErrorCode: string | undefined;
  let inFlight: Promise<RefreshResult> | undefined;
  let timer: { cancel(): void } | undefined;

  const scheduleAt = (atMs: number): void => {
    timer?.cancel();
    if (closing.signal.aborted) return;
    timer = scheduler.schedule(() => void refreshNow(), atMs - clock.now());
  };

  const fetchValidated = async (): Promise<AwsCredentials> => {
    const signal = AbortSignal.any([closing.signal, AbortSignal.timeout(options.fetchTimeoutMs)]);
    const fetched = await options.provider.fetchCredentials(signal);
    if (!isUsableAt(fetched, clock.now())) {
      throw new CredentialSourceError('credentials_already_expired', 'the source returned credentials that have already expired');
    }
    return fetched;
  };

  const onSuccess = (fetched: AwsCredentials): RefreshResult => {
    const fetchedAtMs = clock.now();
    credentials = fetched;
    lastErrorCode = undefined;
    breaker.recordSuccess();
    metrics?.countRefresh(options.upstream, 'success');
    const expiresAt = fetched.expiresAtMs === undefined ? undefined : new Date(fetched.expiresAtMs).toISOString();
    logger.info({ expiresAt }, 'AWS credentials refreshed');
    if (fetched.expiresAtMs !== undefined) {
      scheduleAt(computeRefreshAtMs(fetchedAtMs, fetched.expiresAtMs, options.refreshBeforeMs));
    }
    return 'success';
  };

  const onFailure = (error: unknown): RefreshResult => {
    const nowMs = clock.now();
    breaker.recordFailure(nowMs);
    lastErrorCode = error instanceof CredentialSourceError ? error.code : 'credential_source_error';
    metrics?.countRefresh(options.upstream, 'failure');
    const expiresAtMs = credentials?.expiresAtMs;
    logger.warn(
      {
        code: lastErrorCode,
        err: error instanceof Error ? { type: error.name, message: error.message } : String(error),
        breaker: breaker.state(),
        keepsServingUntil: expiresAtMs === undefined ? undefined : new Date(expiresAtMs).toISOString(),
      },
      'AWS credential refresh failed; keeping the current credentials',
    );
    scheduleAt(breaker.reopensAtMs() ?? nowMs + options.retryAfterFailureMs);
    return 'failure';
  };

  const runRefresh = async (): Promise<RefreshResult> => {
    if (!breaker.tryAcquire(clock.now())) {
      metrics?.countRefresh(options.upstream, 'breaker_open');
      scheduleAt(breaker.reopensAtMs() ?? clock.now() + options.retryAfterFailureMs);
      return 'breaker_open';
    }
    try {
      const fetched = await fetchValidated();
      return closing.signal.aborted ? 'failure' : onSuccess(fetched);
    } catch (error) {
      return closing.signal.aborted ? 'failure' : onFailure(error);
    }
  };

  const refreshNow = (): Promise<RefreshResult> => {
    inFlight ??= runRefresh().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const current = (): AwsCredentials | undefined =>
    credentials !== undefined && isUsableAt(credentials, clock.now()) ? credentials : undefined;

  const untrack = metrics?.track(options.upstream, {
    expiresAtMs: () => credentials?.expiresAtMs,
    breakerState: () => breaker.state(),
  });

  return {
    current,
    refreshNow,
    start: refreshNow,
    breakerState: () => breaker.state(),
    readiness: {
      name: `aws_credentials:${options.upstream}`,
      notReadyReason() {
        if (current() !== undefined) return undefined;
        const why = lastErrorCode === undefined ? '' : ` (last refresh: ${lastErrorCode})`;
        return credentials === undefined ? `no AWS credentials loaded yet${why}` : `AWS credentials expired${why}`;
      },
    },
    close() {
      closing.abort();
      timer?.cancel();
      untrack?.();
    },
  };
}
