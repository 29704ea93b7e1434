import { Gauge, type Registry } from 'prom-client';
import { HotPathCounter, HotPathHistogram } from '../../observability/hot-path-metrics.js';
import type { Backend } from './backend.js';

/** What the metrics read of a balanced upstream at scrape time. */
export interface BalancerView {
  readonly upstream: string;
  backends(): readonly Backend[];
}

/**
 * The metrics of every balanced upstream of an app, made once per registry (upstream/create-upstream.ts registers
 * each balancer): per backend, `up` and in flight (read at scrape time), attempts by outcome and their latency;
 * per upstream, retries by reason and requests answered `no_backend_available`. The `backend` label is the
 * backend's origin: bounded by the configuration and by DNS answers.
 */
export interface BalancerMetrics {
  register(view: BalancerView): () => void;
  attemptEnded(upstream: string, backend: string, outcome: string, durationMs: number): void;
  retried(upstream: string, reason: string): void;
  noBackend(upstream: string): void;
}

export function createBalancerMetrics(registry: Registry): BalancerMetrics {
  const views = new Set<BalancerView>();
  const eachBackend = (set: (upstream: string, backend: Backend) => void) => {
    for (const view of views) for (const backend of view.backends()) set(view.upstream, backend);
  };
  new Gauge({
    name: 'scopegate_upstream_backend_up',
    help: 'Whether the backend takes requests (1), or is out after failures (0) until its back-off or check passes.',
    labelNames: ['upstream', 'backend', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      eachBackend((upstream, b) =>
        this.set(
          { upstream, backend: b.key, state: b.draining ? 'draining' : b.health.state },
          b.health.state === 'up' && !b.draining ? 1 : 0,
        ),
      );
    },
  });
  new Gauge({
    name: 'scopegate_upstream_backend_in_flight',
    help: 'Requests in flight to the backend.',
    labelNames: ['upstream', 'backend'],
    registers: [registry],
    collect() {
      this.reset();
      eachBackend((upstream, b) => this.set({ upstream, backend: b.key }, b.inFlight));
    },
  });
  const attempts = new HotPathCounter<[upstream: string, backend: string, outcome: string]>({
    name: 'scopegate_upstream_backend_attempts_total',
    help: 'Attempts sent to each backend, by outcome: ok, status (an answer retried elsewhere), or the fault (connect, reset, timeout, protocol, tls, aborted).',
    labelNames: ['upstream', 'backend', 'outcome'],
    registry,
  });
  const latency = new HotPathHistogram<[upstream: string, backend: string]>({
    name: 'scopegate_upstream_backend_duration_seconds',
    help: 'Time of each attempt on a backend, from dispatch to the end of its response.',
    labelNames: ['upstream', 'backend'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registry,
  });
  const retries = new HotPathCounter<[upstream: string, reason: string]>({
    name: 'scopegate_upstream_retries_total',
    help: 'Requests sent again to another backend, by reason (status, connect, reset, timeout).',
    labelNames: ['upstream', 'reason'],
    registry,
  });
  const noBackend = new HotPathCounter<[upstream: string]>({
    name: 'scopegate_upstream_no_backend_total',
    help: 'Requests answered 503 no_backend_available: every backend of the upstream was down.',
    labelNames: ['upstream'],
    registry,
  });
  return {
    register(view) {
      views.add(view);
      return () => views.delete(view);
    },
    attemptEnded(upstream, backend, outcome, durationMs) {
      attempts.inc(upstream, backend, outcome);
      if (outcome === 'ok') latency.observe(durationMs / 1000, upstream, backend);
    },
    retried(upstream, reason) {
      retries.inc(upstream, reason);
    },
    noBackend(upstream) {
      noBackend.inc(upstream);
    },
  };
}
