import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HotPathCounter, HotPathHistogram } from './hot-path-metrics.js';

/**
 * The gateway's own metrics, on a Registry made per app (never prom-client's global one), so two
 * gateways can live in one process. Labels are bounded: tenant, upstream name, endpoint name, status code.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly denials: Counter<'code'>;
  /** One finished request: `scopegate_requests_total` and `scopegate_request_duration_seconds`. */
  recordRequest(labels: RequestLabels, durationSeconds: number): void;
  /** One authentication outcome: `scopegate_authentications_total`. */
  recordAuthentication(authenticator: string, result: string): void;
}

export interface RequestLabels {
  readonly tenant: string;
  readonly upstream: string;
  readonly endpoint: string;
  readonly code: number;
}

export function createGatewayMetrics(options: { collectProcessMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'scopegate_' });
  // Written on every request: hot-path metrics, found by their label values without hashing a label object.
  const requests = new HotPathCounter<[tenant: string, upstream: string, endpoint: string, code: number]>({
    name: 'scopegate_requests_total',
    help: 'Requests handled, by tenant, upstream, endpoint and HTTP status code.',
    labelNames: ['tenant', 'upstream', 'endpoint', 'code'],
    registry,
  });
  const duration = new HotPathHistogram<[upstream: string, endpoint: string]>({
    name: 'scopegate_request_duration_seconds',
    help: 'Time from request start to the last byte of the response.',
    labelNames: ['upstream', 'endpoint'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registry,
  });
  const authentications = new HotPathCounter<[authenticator: string, result: string]>({
    name: 'scopegate_authentications_total',
    help: 'Authentication outcomes: success or refused per authenticator; unrecognised when no authenticator took the credential.',
    labelNames: ['authenticator', 'result'],
    registry,
  });
  return {
    registry,
    recordRequest(labels, durationSeconds) {
      requests.inc(labels.tenant, labels.upstream, labels.endpoint, labels.code);
      duration.observe(durationSeconds, labels.upstream, labels.endpoint);
    },
    recordAuthentication(authenticator, result) {
      authentications.inc(authenticator, result);
    },
    upstreamErrors: new Counter({
      name: 'scopegate_upstream_errors_total',
      help: 'Upstream failures by kind (connect, timeout, reset, protocol).',
      labelNames: ['upstream', 'kind'],
      registers: [registry],
    }),
    denials: new Counter({
      name: 'scopegate_denials_total',
      help: 'Requests refused by the gateway (401/403/4xx), by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}

/**
 * `scopegate_ready`: 1 when /ready would answer 200, else 0, read at scrape time, so an alert can tell a pod
 * that is up but refusing traffic (stale token set, keys or credentials) from one that is down (`up == 0`).
 * A cluster primary aggregates its workers' values with `min`: one unready worker makes the process unready.
 */
export function registerReadyGauge(registry: Registry, isReady: () => boolean): void {
  new Gauge({
    name: 'scopegate_ready',
    help: 'Whether /ready answers 200 (1) or 503 (0): token set, signing keys and AWS credentials fresh, not shutting down.',
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.set(isReady() ? 1 : 0);
    },
  });
}
