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
  /**
   * Optional: the rates, then the in-flight slots, of every rule that matched one request, in one call (Redis:
   * one script, one round trip), with the outcome `takeRate` then `acquireSlot` rule by rule would give: the
   * first rate refused stops it, rates taken before stay taken; the first slot refused gives back the slots
   * taken before it.
   */
  admit?(checks: readonly AdmissionCheck[], nowMs: number): Promise<AdmissionDecision>;
  /** Query budgets: what the bucket spent in the fixed window that starts at `windowStartMs` (and lasts `windowMs`). */
  budgetSpent(ruleId: string, key: string, windowStartMs: number, windowMs: number): Promise<BudgetAmounts>;
  /** Adds a finished query's cost to the bucket's window. */
  spendBudget(ruleId: string, key: string, windowStartMs: number, windowMs: number, amounts: BudgetAmounts): Promise<void>;
  /** Present only when the backend can be down and that matters (Redis with `on_backend_error = "deny"`). */
  readonly readiness?: ReadinessCheck;
  close(): Promise<void>;
}

export interface RateDecision {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
}

/** What queries spent of a budget: samples the backend reported, and query seconds. */
export interface BudgetAmounts {
  readonly samples: number;
  readonly seconds: number;
}

export interface Slot {
  release(): void;
}

/** One matched rule's part of an admission: its bucket, and its rate and slot limits where it has them. */
export interface AdmissionCheck {
  readonly ruleId: string;
  readonly key: string;
  readonly rate: RateLimit | undefined;
  readonly maxInFlight: number | undefined;
}

/** Admitted, holding every slot asked for (one `release` frees them all), or refused by the check at `index`. */
export type AdmissionDecision =
  | ({ readonly admitted: true } & Slot)
  | { readonly admitted: false; readonly index: number; readonly limit: 'rate' | 'concurrency'; readonly retryAfterMs: number };

/** The backend could not answer in time (or at all). */
export class LimitBackendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LimitBackendError';
  }
}
