import type { JWTPayload } from 'jose';
import type { Clock } from '../core/clock.js';
import type { Identity } from './identity.js';
import { ExpiringCache, digestKey } from './expiring-cache.js';
import { isOwnJwt, peekJwt, verifyJwt } from './jwt-verify.js';
import type { JwtKey, JwtOwnership, VerifyJwtOptions } from './jwt-verify.js';

/**
 * The flow every JWT provider shares: not-mine checks → cache → verify → identity → cache until `exp`.
 * Providers differ only in the key, the verify options and how claims become an identity.
 */
export interface JwtFlowOptions {
  readonly ownership: JwtOwnership;
  readonly verify: Omit<VerifyJwtOptions, 'clock'>;
  /** Resolved per call, so a rotated key set is used at once. */
  readonly key: () => JwtKey;
  readonly toIdentity: (payload: JWTPayload & { exp: number }) => Identity;
  readonly clock: Clock;
  /** Bound of the verified-token cache; 0 disables it. */
  readonly cacheMaxEntries: number;
}

export class JwtFlow {
  readonly #options: JwtFlowOptions;
  readonly #cache: ExpiringCache<Identity>;

  constructor(options: JwtFlowOptions) {
    this.#options = options;
    this.#cache = new ExpiringCache({ maxEntries: options.cacheMaxEntries, clock: options.clock });
  }

  /** True when the token is a JWT this provider should judge (see `isOwnJwt`). */
  isOwn(token: string): boolean {
    const peeked = peekJwt(token);
    return peeked !== undefined && isOwnJwt(peeked, this.#options.ownership);
  }

  /**
   * `undefined` for a token that is not this provider's; else the identity, or `Unauthorized`.
   * A cached identity is served only before its `exp` (the cache expires entries at `exp`).
   */
  async authenticateToken(token: string): Promise<Identity | undefined> {
    if (!this.isOwn(token)) return undefined;
    return this.verifyToken(token);
  }

  /** Verifies a token already known to be this provider's (or one the caller insists on, e.g. X-Id-Token). */
  async verifyToken(token: string): Promise<Identity> {
    const key = digestKey(token);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const payload = await verifyJwt(token, this.#options.key(), { ...this.#options.verify, clock: this.#options.clock });
    const identity = this.#options.toIdentity(payload);
    this.#cache.set(key, identity, payload.exp * 1000);
    return identity;
  }

  /** Forgets verified tokens: the key set changed, so a token verified with a retired key must be re-checked. */
  clearCache(): void {
    this.#cache.clear();
  }
}
