/**
 * GCRA (the generic cell rate algorithm, ITU-T I.371; as in Brandur's throttled and redis-cell): one number
 * per bucket, the theoretical arrival time (TAT) of the next request. A request at `now` is admitted when
 * `max(tat, now) − now ≤ interval × (burst − 1)`, and then moves the TAT on by one interval. So `burst`
 * requests pass at once from rest, and after that one per `interval`. Pure: the memory backend calls it and
 * the Redis backend's Lua script is the same arithmetic (redis-scripts.ts).
 */

export interface RateLimit {
  /** Milliseconds between requests at the sustained rate (1000 / rate). */
  readonly intervalMs: number;
  /** Requests admitted at once from rest (≥ 1). */
  readonly burst: number;
}

export interface GcraResult {
  readonly allowed: boolean;
  /** The new TAT to store when allowed; the old one otherwise. */
  readonly tat: number;
  /** When refused: how long until one request would pass. */
  readonly retryAfterMs: number;
}

/** One request against a bucket whose stored TAT is `storedTat` (undefined: a bucket at rest). */
export function takeGcra(storedTat: number | undefined, nowMs: number, limit: RateLimit): GcraResult {
  const tat = storedTat === undefined || storedTat < nowMs ? nowMs : storedTat;
  const allowAt = tat - limit.intervalMs * (limit.burst - 1);
  if (nowMs < allowAt) return { allowed: false, tat, retryAfterMs: allowAt - nowMs };
  return { allowed: true, tat: tat + limit.intervalMs, retryAfterMs: 0 };
}
