import { Dispatcher } from 'undici';
import type { Clock } from '../../core/clock.js';
import type { BalancePolicy } from '../../config/sections/backends.js';
import type { Backend } from './backend.js';
import { BalancedRequest, type BalancerContext } from './balanced-request.js';
import type { BalancerMetrics } from './balancer-metrics.js';
import { noBackendAvailable } from './no-backend-error.js';
import { pickBackend } from './pick.js';
import type { RetryBudget } from './retry-budget.js';

export interface BalancerOptions {
  /** The upstream's name (metrics, messages). */
  readonly upstream: string;
  readonly policy: BalancePolicy;
  readonly hashOn: 'tenant' | 'query';
  /** Lower-case: the header `hash_on = "tenant"` reads. */
  readonly tenantHeader: string;
  readonly maxRetries: number;
  readonly retryWrites: boolean;
  /** The upstream's timeout: no retry starts after it. */
  readonly timeoutMs: number;
  readonly retryStatusCodes: ReadonlySet<number>;
  readonly unhealthyStatusCodes: ReadonlySet<number>;
  readonly budget: RetryBudget;
  readonly clock: Clock;
  readonly metrics?: BalancerMetrics | undefined;
  /** A backend failed (DNS discovery re-resolves sooner). */
  readonly onBackendFailure?: () => void;
}

const NONE_TRIED: readonly Backend[] = [];
const isUp = (b: Backend) => !b.draining && b.health.state === 'up';

const REPEATABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The undici Dispatcher of an upstream with several backends, composed where a single pool is otherwise
 * (create-upstream.ts): it holds one pool per backend, each composed with the upstream's signing interceptor,
 * and sends each dispatch to one of them, picked by the upstream's policy among the backends that are up. So
 * whatever leaves through it (a request, a WebSocket upgrade, a lookup, a health check) is built by the same
 * outgoing-request builder and signed the same way, for whichever backend takes it. A request for which no
 * backend is up is answered 503 `no_backend_available` at once. Retries: balanced-request.ts.
 *
 * A request is repeatable when its body is absent or a Buffer the gateway holds (never a client's stream), and
 * it is a read: GET/HEAD, or marked `idempotent` by the read dispatcher (`markRead`: a POST query), or any
 * request when the upstream sets `retry_writes`.
 */
export class BalancedDispatcher extends Dispatcher {
  readonly #options: BalancerOptions;
  #backends: Backend[];
  readonly #context: BalancerContext;
  readonly #unregister: () => void;

  constructor(options: BalancerOptions, backends: Backend[]) {
    super();
    this.#options = options;
    this.#backends = backends;
    const { clock, metrics, budget, upstream } = options;
    this.#context = {
      maxRetries: options.maxRetries,
      timeoutMs: options.timeoutMs,
      retryStatusCodes: options.retryStatusCodes,
      unhealthyStatusCodes: options.unhealthyStatusCodes,
      now: () => clock.now(),
      choose: (tried, key) => this.#choose(tried, key, clock.now()),
      tryRetry: () => budget.tryRetry(clock.now()),
      attemptEnded: (backend, outcome, durationMs) => {
        if (outcome !== 'ok' && outcome !== 'aborted' && outcome !== 'status') options.onBackendFailure?.();
        metrics?.attemptEnded(upstream, backend.key, outcome, durationMs);
      },
      retried: (reason) => metrics?.retried(upstream, reason),
    };
    this.#unregister = metrics?.register({ upstream, backends: () => this.#backends }) ?? (() => false);
  }

  /** The backends in configuration (or DNS answer) order, draining ones included until they close. */
  backends(): readonly Backend[] {
    return this.#backends;
  }

  /**
   * Replaces the backends (DNS discovery): new ones take requests at once; those gone are drained, taking no
   * new request, and their pools close once the requests in flight on them have ended (undici's `close`).
   */
  setBackends(next: Backend[]): void {
    const kept = new Set(next);
    for (const old of this.#backends) {
      if (kept.has(old)) continue;
      old.draining = true;
      void old.close();
    }
    this.#backends = next;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const key = () => this.#requestKey(opts);
    const { budget, clock } = this.#options;
    const now = clock.now();
    const first = this.#choose(NONE_TRIED, key, now);
    if (!first) {
      this.#options.metrics?.noBackend(this.#options.upstream);
      const error = noBackendAvailable(this.#options.upstream);
      queueMicrotask(() => handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, error));
      return true;
    }
    budget.recordRequest(now);
    new BalancedRequest(this.#context, opts, handler, this.#isRepeatable(opts), key, now).start(first);
    return true;
  }

  override close(callback?: () => void): Promise<void> {
    this.#unregister();
    const closing = Promise.all(this.#backends.map((b) => b.close())).then(() => undefined);
    if (callback) void closing.then(callback);
    return closing;
  }

  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> {
    this.#unregister();
    const done = Promise.all(this.#backends.map((b) => b.dispatcher.destroy())).then(() => undefined);
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback;
    if (cb) void done.then(cb);
    return done;
  }

  #choose(tried: readonly Backend[], key: () => string, now: number): Backend | undefined {
    const policy = this.#options.policy;
    // The usual case (a first attempt, every backend up) picks from the list itself: nothing allocated.
    const available =
      tried.length === 0 && this.#backends.every(isUp)
        ? this.#backends
        : this.#backends.filter((b) => !b.draining && !tried.includes(b) && b.health.canTake(now));
    const picked = pickBackend(policy, available, policy === 'hash' ? key() : '');
    picked?.health.taken(now);
    return picked;
  }

  #isRepeatable(opts: Dispatcher.DispatchOptions): boolean {
    const body = opts.body;
    if (body !== null && body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string') return false;
    return REPEATABLE_METHODS.has(opts.method) || opts.idempotent === true || this.#options.retryWrites;
  }

  /** `hash_on`: the tenant header, or the query (the URL's, else a buffered form body's). */
  #requestKey(opts: Dispatcher.DispatchOptions): string {
    if (this.#options.hashOn === 'tenant') {
      const value = (opts.headers as Record<string, string | undefined> | null | undefined)?.[this.#options.tenantHeader];
      return value ?? '';
    }
    const mark = opts.path.indexOf('?');
    if (mark !== -1) return opts.path.slice(mark + 1);
    return Buffer.isBuffer(opts.body) ? opts.body.toString('latin1') : '';
  }
}

/**
 * The interceptor of the read dispatcher: marks the request `idempotent` (undici's own option), so a POST that
 * only reads (a Prometheus query sent as a form) is retried like a GET when its body is buffered.
 */
export const markRead: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
  dispatch({ ...opts, idempotent: true }, handler);
