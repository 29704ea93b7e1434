import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's own metrics, on a Registry made per app (never prom-client's global one), so two
 * gateways can live in one process. Labels are bounded: tenant, upstream name, endpoint name, status code.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'tenant' | 'upstream' | 'endpoint' | 'code'>;
  readonly duration: Histogram<'upstream' | 'endpoint'>;
  readonly upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly denials: Counter<'code'>;
  readonly authentications: Counter<'authenticator' | 'result'>;
  /** One finished request: `requests` and `duration`, through label children cached per label set. */
  recordRequest(labels: RequestLabels, durationSeconds: number): void;
  /** One authentication outcome (`authentications`), through a cached label child. */
  recordAuthentication(authenticator: string, result: string): void;
}

export interface RequestLabels {
  readonly tenant: string;
  readonly upstream: string;
  readonly endpoint: string;
  readonly code: number;
}

// Joins label values into a cache key; no label value holds a NUL (names and codes from the config).
const KEY_SEPARATOR = '\u0000';
const MAX_CACHED_CHILDREN = 10_000;

/** Label children by key, made on first use; emptied when full (the metric itself keeps every child). */
class ChildCache<Child> {
  readonly #children = new Map<string, Child>();
  readonly #make: (key: string) => Child;

  constructor(make: (key: string) => Child) {
    this.#make = make;
  }

  get(key: string): Child {
    let child = this.#children.get(key);
    if (child === undefined) {
      if (this.#children.size >= MAX_CACHED_CHILDREN) this.#children.clear();
      child = this.#make(key);
      this.#children.set(key, child);
    }
    return child;
  }
}

export function createGatewayMetrics(options: { collectProcessMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'scopegate_' });
  const requests = new Counter({
    name: 'scopegate_requests_total',
    help: 'Requests handled, by tenant, upstream, endpoint and HTTP status code.',
    labelNames: ['tenant', 'upstream', 'endpoint', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'scopegate_request_duration_seconds',
    help: 'Time from request start to the last byte of the response.',
    labelNames: ['upstream', 'endpoint'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const authentications = new Counter({
    name: 'scopegate_authentications_total',
    help: 'Authentication outcomes: success or refused per authenticator; unrecognised when no authenticator took the credential.',
    labelNames: ['authenticator', 'result'] as const,
    registers: [registry],
  });
  // prom-client hashes the label object (sorted keys, joined) on every inc/observe; a request finds its
  // children by one string key instead. The label values are bounded (tenant, upstream and endpoint names,
  // status), and so is the cache.
  const requestChildren = new ChildCache((key) => requests.labels(...(key.split(KEY_SEPARATOR) as [string, string, string, string])));
  const durationChildren = new ChildCache((key) => duration.labels(...(key.split(KEY_SEPARATOR) as [string, string])));
  const authenticationChildren = new ChildCache((key) => authentications.labels(...(key.split(KEY_SEPARATOR) as [string, string])));
  return {
    registry,
    requests,
    duration,
    recordRequest(labels, durationSeconds) {
      const route = `${labels.upstream}${KEY_SEPARATOR}${labels.endpoint}`;
      requestChildren.get(`${labels.tenant}${KEY_SEPARATOR}${route}${KEY_SEPARATOR}${labels.code}`).inc();
      durationChildren.get(route).observe(durationSeconds);
    },
    recordAuthentication(authenticator, result) {
      authenticationChildren.get(`${authenticator}${KEY_SEPARATOR}${result}`).inc();
    },
    upstreamErrors: new Counter({
      name: 'scopegate_upstream_errors_total',
      help: 'Upstream failures by kind (connect, timeout, reset, protocol).',
      labelNames: ['upstream', 'kind'],
      registers: [registry],
    }),
    authentications,
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
