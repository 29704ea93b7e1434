/**
 * How many retries an upstream may send: a share (`ratio`) of the requests of the last `windowMs`, plus a small
 * floor so a quiet upstream can still retry (linkerd's retry budget, Envoy's `retry_budget`). Under a full
 * outage every request fails, and without a budget each would be sent 1 + max_retries times: the budget keeps the
 * extra load at `ratio`. Counted in one-second buckets on the caller's clock: no timer.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #bucketMs = 1_000;
  readonly #requests: number[];
  readonly #retries: number[];
  #bucketStartMs = 0;
  #index = 0;

  constructor(options: { ratio: number; windowMs?: number; minPerSecond?: number }) {
    const buckets = Math.max(1, Math.round((options.windowMs ?? 10_000) / this.#bucketMs));
    this.#ratio = options.ratio;
    this.#floor = (options.minPerSecond ?? 1) * buckets;
    this.#requests = new Array<number>(buckets).fill(0);
    this.#retries = new Array<number>(buckets).fill(0);
  }

  recordRequest(nowMs: number): void {
    this.#advance(nowMs);
    this.#requests[this.#index] = (this.#requests[this.#index] as number) + 1;
  }

  /** Takes one retry from the budget if there is one left. */
  tryRetry(nowMs: number): boolean {
    this.#advance(nowMs);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.#requests.length; i++) {
      requests += this.#requests[i] as number;
      retries += this.#retries[i] as number;
    }
    if (retries >= this.#ratio * requests + this.#floor) return false;
    this.#retries[this.#index] = (this.#retries[this.#index] as number) + 1;
    return true;
  }

  #advance(nowMs: number): void {
    if (nowMs < this.#bucketStartMs + this.#bucketMs) return;
    const steps = Math.floor((nowMs - this.#bucketStartMs) / this.#bucketMs);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, this.#requests.length); i++) {
      this.#index = (this.#index + 1) % this.#requests.length;
      this.#requests[this.#index] = 0;
      this.#retries[this.#index] = 0;
    }
    this.#bucketStartMs += steps * this.#bucketMs;
  }
}
