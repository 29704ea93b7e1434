/** Circuit-breaker states, with the numbers exported on `scopegate_aws_credential_breaker_state`. */
export const BREAKER_STATE_VALUE = { closed: 0, open: 1, half_open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long an open breaker refuses calls before letting one trial call through (half-open). */
  readonly openTimeoutMs: number;
}

export interface CircuitBreaker {
  /** Whether a call to the source may go out now; moves open → half-open once `openTimeoutMs` has passed. */
  tryAcquire(nowMs: number): boolean;
  recordSuccess(): void;
  recordFailure(nowMs: number): void;
  state(): BreakerState;
  /** When an open breaker will let the next trial through; undefined unless open. */
  reopensAtMs(): number | undefined;
}

/**
 * The classic closed → open → half-open breaker (Nygard, "Release It!", ch. 5): after `failureThreshold`
 * consecutive failures the source is left alone for `openTimeoutMs`; then exactly one trial call decides
 * between closing again (success) and another open period (failure). It protects STS or Vault from a gateway
 * fleet hammering it while it is down. Callers serialise calls (the refresher is single-flight), so
 * half-open admits one trial at a time.
 */
export function createCircuitBreaker(options: BreakerOptions): CircuitBreaker {
  let current: BreakerState = 'closed';
  let consecutiveFailures = 0;
  let openedAtMs = 0;

  const openAt = (nowMs: number): void => {
    current = 'open';
    openedAtMs = nowMs;
  };

  return {
    tryAcquire(nowMs) {
      if (current === 'open' && nowMs >= openedAtMs + options.openTimeoutMs) current = 'half_open';
      return current !== 'open';
    },
    recordSuccess() {
      current = 'closed';
      consecutiveFailures = 0;
    },
    recordFailure(nowMs) {
      consecutiveFailures += 1;
      if (current === 'half_open' || consecutiveFailures >= options.failureThreshold) openAt(nowMs);
    },
    state: () => current,
    reopensAtMs: () => (current === 'open' ? openedAtMs + options.openTimeoutMs : undefined),
  };
}
