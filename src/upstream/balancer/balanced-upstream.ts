import type { Dispatcher } from 'undici';
import type { UpstreamConfig } from '../../config/config.js';
import type { Clock } from '../../core/clock.js';
import type { ReadinessCheck } from '../../core/readiness.js';
import { startActiveChecks } from './active-health.js';
import type { Backend } from './backend.js';
import { BackendHealth } from './backend-health.js';
import { BalancedDispatcher, markRead } from './balanced-dispatcher.js';
import type { BalancerMetrics } from './balancer-metrics.js';
import { resolveBackends, type DiscoveredBackend, type HostResolver } from './dns-discovery.js';
import { RetryBudget } from './retry-budget.js';

export interface BalancedUpstreamDeps {
  readonly clock: Clock;
  readonly metrics?: BalancerMetrics | undefined;
  readonly resolver: HostResolver;
  /** One backend's dispatcher: its pool (TLS name `servername`), composed with the upstream's signing. */
  readonly connect: (url: URL, servername: string | undefined) => { readonly dispatcher: Dispatcher; close(): Promise<void> };
}

export interface BalancedUpstream {
  /** For writes and anything not known to be a read. */
  readonly dispatcher: Dispatcher;
  /** For read endpoints: their buffered POSTs are repeatable too (`markRead`). */
  readonly readDispatcher: Dispatcher;
  readonly balancer: BalancedDispatcher;
  /** /ready's view of the backends (informative: never unready because a backend is down). */
  readonly readiness: ReadinessCheck;
  /** The first DNS answers and the first round of checks. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A re-resolution on failure waits at least this long after the last one (a failing backend fails many requests). */
const MIN_RESOLVE_GAP_MS = 1_000;

/**
 * The balanced form of an upstream (several backends, DNS discovery or an active check): its BalancedDispatcher,
 * the backends made from the configuration or from DNS, the active checks and the re-resolution timer.
 */
export function createBalancedUpstream(config: UpstreamConfig, name: string, deps: BalancedUpstreamDeps): BalancedUpstream {
  const { clock } = deps;
  const health = config.health;
  const basePath = config.upstream.pathname.replace(/\/+$/, '');
  const makeBackend = (url: URL, weight: number, servername: string | undefined): Backend => {
    const connection = deps.connect(url, servername);
    return {
      key: url.origin,
      weight,
      dispatcher: connection.dispatcher,
      health: new BackendHealth({
        backoffMs: health.backoff,
        maxBackoffMs: health.max_backoff,
        probeWithRequests: health.check_path === undefined,
      }),
      inFlight: 0,
      currentWeight: 0,
      draining: false,
      close: () => connection.close(),
    };
  };
  let refreshSoon: () => void = () => {};
  const balancer = new BalancedDispatcher(
    {
      upstream: name,
      policy: config.balance,
      hashOn: config.hash_on,
      tenantHeader: config.tenant_header.toLowerCase(),
      maxRetries: config.max_retries,
      retryWrites: config.retry_writes,
      timeoutMs: config.timeout,
      retryStatusCodes: new Set(config.retry_status_codes),
      unhealthyStatusCodes: new Set(health.unhealthy_status_codes),
      budget: new RetryBudget({ ratio: config.retry_budget }),
      clock,
      metrics: deps.metrics,
      onBackendFailure: () => refreshSoon(),
    },
    config.dns ? [] : config.backends.map((b) => makeBackend(b.url, b.weight, undefined)),
  );

  let stopDiscovery = () => {};
  let firstAnswers: Promise<void> = Promise.resolve();
  const dnsConfig = config.dns;
  if (dnsConfig) {
    let answers = new Map<string, readonly DiscoveredBackend[]>();
    let lastResolveMs = -Infinity;
    let resolving: Promise<void> | undefined;
    const refresh = (): Promise<void> => {
      if (resolving) return resolving;
      lastResolveMs = clock.now();
      resolving = resolveBackends(config.backends, dnsConfig.srv, deps.resolver, answers)
        .then((next) => {
          answers = next;
          const current = new Map(balancer.backends().map((b) => [b.key, b]));
          const list: Backend[] = [];
          for (const found of [...next.values()].flat()) {
            if (list.some((b) => b.key === found.url.origin)) continue;
            list.push(current.get(found.url.origin) ?? makeBackend(found.url, found.weight, found.hostname));
          }
          balancer.setBackends(list);
        })
        .finally(() => {
          resolving = undefined;
        });
      return resolving;
    };
    refreshSoon = () => {
      if (clock.now() - lastResolveMs >= MIN_RESOLVE_GAP_MS) void refresh();
    };
    const timer = setInterval(() => void refresh(), dnsConfig.refresh_interval);
    timer.unref();
    stopDiscovery = () => clearInterval(timer);
    firstAnswers = refresh();
  }

  let stopChecks = () => {};
  const dispatcher = balancer.compose((dispatch) => dispatch);
  return {
    dispatcher,
    readDispatcher: balancer.compose(markRead),
    balancer,
    readiness: {
      name: `upstream ${name}`,
      notReadyReason: () => undefined,
      details: () => Object.fromEntries(balancer.backends().map((b) => [b.key, b.draining ? 'draining' : b.health.state])),
    },
    async start() {
      await firstAnswers;
      if (health.check_path !== undefined) {
        const checks = startActiveChecks(() => balancer.backends(), {
          path: `${basePath}${health.check_path}`,
          intervalMs: health.check_interval,
          timeoutMs: health.check_timeout,
          clock,
        });
        stopChecks = checks.stop;
        await checks.firstRound;
      }
    },
    async close() {
      stopDiscovery();
      stopChecks();
      await balancer.close();
    },
  };
}
