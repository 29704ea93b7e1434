import type { ReadinessCheck } from '../core/readiness.js';
import type { RateLimit } from './gcra.js';

/**
 * Where the counters live. One interface, one file per variant (memory-backend.ts, redis-backend.ts); the
 * limiter (limiter.ts) decides which rules apply and what to answer, the backend only counts.
 *
 * A bucket is named by `ruleId` (a digest of the rule's matchers and limits: a rule that did not change keeps
 * its counters across a reload, a changed one starts fresh) and `key` (the identity or tenant it counts).
 * Calls may reject with `LimitBackendError` (Redis slow or down); the limiter applies `on_backend_error`.
 */
export interface LimitBackend {
  readonly kind: 'memory' | 'redis';
  /** One request against the bucket's rate (GCRA). */
  takeRate(ruleId: string, key: string, limit: RateLimit, nowMs: number): Promise<RateDecision>;
  /** One in-flight slot out of `max`; `undefined` when all are taken. Release the slot when the response ends. */
  acquireSlot(ruleId: string, key: string, max: number, nowMs: number): Promise<Slot | undefined>;
  /** Present only when the backend can be down and that matters (Redis with `on_backend_error = "deny"`). */
  readonly readiness?: ReadinessCheck;
  close(): Promise<void>;
}

export interface RateDecision {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
}

export interface Slot {
  release(): void;
}

/** The backend could not answer in time (or at all). */
export class LimitBackendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LimitBackendError';
  }
}
