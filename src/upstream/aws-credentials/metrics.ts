import { Counter, Gauge, type Registry } from 'prom-client';
import { BREAKER_STATE_VALUE, type BreakerState } from './breaker.js';

export type RefreshResult = 'success' | 'failure' | 'breaker_open';

/** What a refresher exposes so the gauges can be read at scrape time. */
export interface CredentialMetricsSource {
  expiresAtMs(): number | undefined;
  breakerState(): BreakerState;
}

export interface AwsCredentialMetrics {
  countRefresh(upstream: string, result: RefreshResult): void;
  /** Adds the refresher's gauges; returns the function that removes them (on close). */
  track(upstream: string, source: CredentialMetricsSource): () => void;
}

/**
 * The AWS credential metrics of one app, on its own Registry. Made once in `createApp` and shared by every
 * signed upstream (a metric name can be registered once per Registry); labelled by upstream name, which is
 * bounded by config. Gauges are computed at scrape time so the time to expiry is never stale.
 */
export function createAwsCredentialMetrics(registry: Registry, nowMs: () => number): AwsCredentialMetrics {
  const sources = new Map<string, CredentialMetricsSource>();
  const refreshes = new Counter({
    name: 'scopegate_aws_credential_refreshes_total',
    help: 'AWS credential refresh attempts by result (success, failure, breaker_open).',
    labelNames: ['upstream', 'result'],
    registers: [registry],
  });
  new Gauge({
    name: 'scopegate_aws_credential_breaker_state',
    help: 'Circuit breaker in front of the AWS credential source: 0 closed, 1 open, 2 half-open.',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [upstream, source] of sources) this.set({ upstream }, BREAKER_STATE_VALUE[source.breakerState()]);
    },
  });
  new Gauge({
    name: 'scopegate_aws_credential_expiry_seconds',
    help: 'Seconds until the current AWS credentials expire (negative once expired; absent for static keys).',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [upstream, source] of sources) {
        const expiresAtMs = source.expiresAtMs();
        if (expiresAtMs !== undefined) this.set({ upstream }, (expiresAtMs - nowMs()) / 1000);
      }
    },
  });

  return {
    countRefresh: (upstream, result) => refreshes.inc({ upstream, result }),
    track(upstream, source) {
      sources.set(upstream, source);
      return () => {
        if (sources.get(upstream) === source) sources.delete(upstream);
      };
    },
  };
}
