/**
 * Rate tokens a gateway drew from a bucket in Redis ahead of need (`[limits.redis] local_allowance`), admitted
 * from here until spent. A token was taken from the Redis bucket when it was drawn (the bucket's TAT moved on), so
 * tokens held here are never admitted twice, by this gateway or another; one drawn `ttlMs` ago and still unused
 * lapses (it stays spent), which bounds how much later than its draw a token may be used, and so the excess over
 * the limit in any window (docs/configuration.md, "Local allowance").
 *
 * Per bucket at most `size` tokens are held or being drawn at once: `reserve` counts a draw's tokens as pending
 * before it leaves, `settle` adds what Redis gave. Pure bookkeeping: no I/O, the caller's clock.
 */
export interface LocalAllowance {
  /** One live token of the bucket, or undefined (none held). Keep the batch to `giveBack` it. */
  take(bucket: string, nowMs: number): Batch | undefined;
  /** A token taken but not used (a later rule refused the request): back to its batch, if that is still alive. */
  giveBack(batch: Batch, nowMs: number): void;
  /** How many more tokens may be drawn for the bucket now (held + pending stay ≤ size); counted as pending. */
  reserve(bucket: string, nowMs: number): number;
  /**
   * A draw of `reserved` answered with `added` tokens to hold (0 when refused or failed). `drawnAtMs`: the `now`
   * the draw gave Redis, from which the tokens' life is counted.
   */
  settle(bucket: string, reserved: number, added: number, drawnAtMs: number): void;
  /** Half or less held and nothing being drawn: time to draw in the background. */
  needsRefill(bucket: string, nowMs: number): boolean;
}

export interface Batch {
  count: number;
  readonly expiresAtMs: number;
}

interface Held {
  /** Oldest first; tokens are taken from the oldest live batch. */
  batches: Batch[];
  pending: number;
}

/** Past this many buckets, those holding nothing and drawing nothing are dropped. */
const SWEEP_ABOVE = 10_000;

export function createLocalAllowance(size: number, ttlMs: number): LocalAllowance {
  const buckets = new Map<string, Held>();

  /** Drops lapsed batches, and spent ones at the front; returns the live count. */
  function live(held: Held, nowMs: number): number {
    const { batches } = held;
    while (batches.length > 0 && ((batches[0] as Batch).count === 0 || (batches[0] as Batch).expiresAtMs <= nowMs)) batches.shift();
    let count = 0;
    for (const batch of batches) if (batch.expiresAtMs > nowMs) count += batch.count;
    return count;
  }

  function heldOf(bucket: string, nowMs: number): Held {
    let held = buckets.get(bucket);
    if (held === undefined) {
      if (buckets.size > SWEEP_ABOVE) {
        for (const [other, old] of buckets) if (old.pending === 0 && live(old, nowMs) === 0) buckets.delete(other);
      }
      held = { batches: [], pending: 0 };
      buckets.set(bucket, held);
    }
    return held;
  }

  return {
    take(bucket, nowMs) {
      const held = buckets.get(bucket);
      if (held === undefined || live(held, nowMs) === 0) return undefined;
      // live() left a batch with a token at the front (lapse times only grow along the list).
      const batch = held.batches[0] as Batch;
      batch.count -= 1;
      return batch;
    },
    giveBack(batch, nowMs) {
      if (batch.expiresAtMs > nowMs) batch.count += 1;
    },
    reserve(bucket, nowMs) {
      const held = heldOf(bucket, nowMs);
      const room = Math.max(0, size - live(held, nowMs) - held.pending);
      held.pending += room;
      return room;
    },
    settle(bucket, reserved, added, drawnAtMs) {
      const held = heldOf(bucket, drawnAtMs);
      held.pending = Math.max(0, held.pending - reserved);
      if (added > 0) held.batches.push({ count: Math.min(added, reserved), expiresAtMs: drawnAtMs + ttlMs });
    },
    needsRefill(bucket, nowMs) {
      const held = buckets.get(bucket);
      return held !== undefined && held.pending === 0 && live(held, nowMs) * 2 <= size;
    },
  };
}
