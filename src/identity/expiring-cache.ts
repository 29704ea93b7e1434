import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';

/**
 * A bounded LRU whose entries also expire. Used to remember verified credentials (JWTs until their `exp`,
 * basic-auth pairs for a short while) so the hot path does not verify a signature or a bcrypt hash on every
 * request. Keys are SHA-256 digests of the credential (`digestKey`), so the cache never holds a secret.
 *
 * Relies on `Map` keeping insertion order: a hit re-inserts the entry, so the first key is the least
 * recently used one and is evicted when the cache is full.
 */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();
  readonly #maxEntries: number;
  readonly #clock: Clock;

  constructor(options: { maxEntries: number; clock: Clock }) {
    this.#maxEntries = Math.max(0, Math.floor(options.maxEntries));
    this.#clock = options.clock;
  }

  /** The value, if present and not expired (an expired entry is dropped on the way). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (this.#clock.now() >= entry.expiresAtMs) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAtMs` (clock milliseconds); a value already expired is not stored. */
  set(key: string, value: V, expiresAtMs: number): void {
    if (this.#maxEntries === 0 || expiresAtMs <= this.#clock.now()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Forgets everything: the key set rotated or the users file changed. */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** SHA-256 of the parts, NUL-separated: a cache key that is not the credential itself. */
export function digestKey(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('base64url');
}
