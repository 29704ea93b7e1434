import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of the limits stage. Labels are bounded: tenants and rule names come from the configuration and the
 * identities' tenant lists, `limit` from a fixed set (rate, concurrency, and the cost and size guards' codes).
 * Which identity was limited is in the access log (`subject`, `limit`), never a label.
 */
export interface LimitMetrics {
  readonly limited: Counter<'tenant' | 'limit'>;
  readonly inFlight: Gauge<'rule'>;
  readonly backendErrors: Counter<'backend' | 'action'>;
  /** Requests waiting in each rule's queue (`max_queue_duration`). */
  readonly queueLength: Gauge<'rule'>;
  /** How long each queued request waited, and whether it got its slot. */
  readonly queueWait: Histogram<'rule' | 'outcome'>;
}

export function createLimitMetrics(registry: Registry): LimitMetrics {
  return {
    limited: new Counter({
      name: 'scopegate_limited_total',
      help: "Requests refused by a limit, by tenant and limit (rate, concurrency, or the guard's error code).",
      labelNames: ['tenant', 'limit'],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'scopegate_limit_in_flight',
      help: 'Requests of this process in flight under each concurrency rule (the current usage of its slots).',
      labelNames: ['rule'],
      registers: [registry],
    }),
    backendErrors: new Counter({
      name: 'scopegate_limit_backend_errors_total',
      help: 'Calls to the limits backend (Redis) that failed or timed out, and what was done: allowed or denied.',
      labelNames: ['backend', 'action'],
      registers: [registry],
    }),
    queueLength: new Gauge({
      name: 'scopegate_limit_queue_length',
      help: 'Requests of this process waiting for a slot of each concurrency rule with max_queue_duration.',
      labelNames: ['rule'],
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: 'scopegate_limit_queue_wait_seconds',
      help: 'Time queued requests waited for a concurrency slot, by outcome (admitted or timeout).',
      labelNames: ['rule', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
