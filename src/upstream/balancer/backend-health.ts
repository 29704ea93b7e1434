/** What the balancer knows of one backend: up, down until a time, or let back for one trial request. */
export type HealthState = 'up' | 'down' | 'half_open';

export interface HealthOptions {
  /** First back-off after a failure; doubled on each further failure in a row. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /**
   * With an active check, only the check lets a backend back in (no client request is a probe); without one,
   * the first request after the back-off is the probe (half-open), and its outcome decides.
   */
  readonly probeWithRequests: boolean;
}

/**
 * Passive health of one backend, as a circuit breaker: a failure (a connection error, a timeout, a configured
 * status, a failed active check) takes it out for a back-off that doubles with each failure in a row; once the
 * back-off has passed it is half-open: one trial (a request, or the active check) decides whether it is up again
 * or out for longer. Pure state, driven by the caller's clock: no timer.
 */
export class BackendHealth {
  #state: HealthState = 'up';
  #failuresInRow = 0;
  #downUntilMs = 0;
  #probing = false;
  readonly #options: HealthOptions;

  constructor(options: HealthOptions) {
    this.#options = options;
  }

  get state(): HealthState {
    return this.#state;
  }

  /** Up (never waits on a backend known to be down), or the one trial request of a half-open backend. */
  canTake(nowMs: number): boolean {
    if (this.#state === 'up') return true;
    if (!this.#options.probeWithRequests || this.#probing) return false;
    return nowMs >= this.#downUntilMs;
  }

  /** A request goes to it: if it was not up, this request is its trial. */
  taken(nowMs: number): void {
    if (this.#state === 'up') return;
    if (nowMs >= this.#downUntilMs) {
      this.#state = 'half_open';
      this.#probing = true;
    }
  }

  succeeded(): void {
    this.#state = 'up';
    this.#failuresInRow = 0;
    this.#probing = false;
  }

  failed(nowMs: number): void {
    this.#failuresInRow += 1;
    const backoff = Math.min(this.#options.backoffMs * 2 ** Math.min(this.#failuresInRow - 1, 20), this.#options.maxBackoffMs);
    this.#downUntilMs = nowMs + backoff;
    this.#state = 'down';
    this.#probing = false;
  }

  /** A trial that ended with neither verdict (the client left): let the next request try. */
  released(): void {
    this.#probing = false;
  }
}
