import type { BudgetAmounts, LimitBackend, RateDecision, Slot } from './backend.js';
import { takeGcra, type RateLimit } from './gcra.js';

/**
 * Counters in this process's memory. With `proxy.workers = N` or N replicas, each process counts alone, so
 * the effective limit is N times the configured one (docs/configuration.md). Never fails, never waits.
 *
 * State is kept per rule id in a `MemoryLimitState` that a reload hands to the next backend: buckets of rules
 * that did not change are the same objects (and requests still in flight on the old configuration release
 * their slots into them).
 */
export interface MemoryLimitState {
  readonly rules: Map<string, RuleBuckets>;
}

interface RuleBuckets {
  /** GCRA theoretical arrival time per key. */
  readonly tats: Map<string, number>;
  readonly inFlight: Map<string, number>;
  /** Query budgets: the current window's spending per key (a key's older window is replaced). */
  readonly budgets: Map<string, { windowStartMs: number; samples: number; seconds: number }>;
}

/** Past this many rate buckets in one rule, the ones at rest (TAT in the past) are dropped. */
const SWEEP_ABOVE = 10_000;

export function createMemoryLimitState(): MemoryLimitState {
  return { rules: new Map() };
}

/** `ruleIds`: the rules of the new configuration; state of other rules is dropped. */
export function createMemoryBackend(
  state: MemoryLimitState,
  ruleIds: readonly string[],
): LimitBackend & { readonly state: MemoryLimitState } {
  const next: MemoryLimitState = { rules: new Map() };
  for (const id of ruleIds) next.rules.set(id, state.rules.get(id) ?? { tats: new Map(), inFlight: new Map(), budgets: new Map() });

  const bucketsOf = (ruleId: string): RuleBuckets => {
    const found = next.rules.get(ruleId);
    if (found === undefined) throw new Error(`unknown limit rule ${ruleId}`);
    return found;
  };

  return {
    kind: 'memory',
    state: next,
    takeRate(ruleId: string, key: string, limit: RateLimit, nowMs: number): Promise<RateDecision> {
      const { tats } = bucketsOf(ruleId);
      const result = takeGcra(tats.get(key), nowMs, limit);
      if (result.allowed) {
        if (tats.size > SWEEP_ABOVE) sweep(tats, nowMs);
        tats.set(key, result.tat);
      }
      return Promise.resolve(result);
    },
    acquireSlot(ruleId: string, key: string, max: number): Promise<Slot | undefined> {
      const { inFlight } = bucketsOf(ruleId);
      const used = inFlight.get(key) ?? 0;
      if (used >= max) return Promise.resolve(undefined);
      inFlight.set(key, used + 1);
      let released = false;
      return Promise.resolve({
        release() {
          if (released) return;
          released = true;
          const now = (inFlight.get(key) ?? 1) - 1;
          if (now <= 0) inFlight.delete(key);
          else inFlight.set(key, now);
        },
      });
    },
    budgetSpent(ruleId: string, key: string, windowStartMs: number): Promise<BudgetAmounts> {
      const spent = bucketsOf(ruleId).budgets.get(key);
      return Promise.resolve(spent === undefined || spent.windowStartMs !== windowStartMs ? { samples: 0, seconds: 0 } : spent);
    },
    spendBudget(ruleId: string, key: string, windowStartMs: number, _windowMs: number, amounts: BudgetAmounts): Promise<void> {
      const { budgets } = bucketsOf(ruleId);
      let spent = budgets.get(key);
      if (spent === undefined || spent.windowStartMs !== windowStartMs) {
        // Past the sweep size, windows that ended go first.
        if (budgets.size > SWEEP_ABOVE) for (const [k, old] of budgets) if (old.windowStartMs < windowStartMs) budgets.delete(k);
        spent = { windowStartMs, samples: 0, seconds: 0 };
        budgets.set(key, spent);
      }
      spent.samples += amounts.samples;
      spent.seconds += amounts.seconds;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

function sweep(tats: Map<string, number>, nowMs: number): void {
  for (const [key, tat] of tats) if (tat <= nowMs) tats.delete(key);
}
