import type { LimitBackend } from './backend.js';
import { TooManyRequests } from './limit-errors.js';
import type { LimitRule, LimitSubject, QueryBudget } from './rules.js';

/** What a finished query spends of a budget: samples where the backend reported them, and its seconds. */
export interface QueryCharge {
  readonly samples: number | undefined;
  readonly seconds: number;
}

/** What the budgets need from the limiter: its backend and clock, and its `on_backend_error` wrapper. */
export interface BudgetDeps {
  readonly backend: LimitBackend;
  readonly now: () => number;
  readonly guarded: <T>(call: Promise<T>, fallback: T) => Promise<T>;
}

/**
 * Query budgets: a costed query is refused once a matched rule's window is spent (what was spent is charged
 * when each query ends, so queries already in flight still complete and may spend past the budget). Windows
 * are fixed, aligned to the Unix epoch. Returns the 429 for the first spent budget, or `undefined`.
 */
export async function findSpentBudget(
  budgeted: readonly LimitRule[],
  subject: LimitSubject,
  deps: BudgetDeps,
): Promise<TooManyRequests | undefined> {
  for (const rule of budgeted) {
    const budget = rule.budget as QueryBudget;
    const now = deps.now();
    const windowStartMs = Math.floor(now / budget.windowMs) * budget.windowMs;
    const spent = await deps.guarded(deps.backend.budgetSpent(rule.id, rule.bucketKey(subject), windowStartMs, budget.windowMs), {
      samples: 0,
      seconds: 0,
    });
    const overSamples = budget.maxSamples !== undefined && spent.samples >= budget.maxSamples;
    const overSeconds = budget.maxSeconds !== undefined && spent.seconds >= budget.maxSeconds;
    if (overSamples || overSeconds) {
      const what = overSamples ? `${budget.maxSamples} samples` : `${budget.maxSeconds} query seconds`;
      return new TooManyRequests(
        'query_budget_exceeded',
        `the query budget of ${what} per ${budget.windowMs / 1000}s is spent (rule ${rule.name})`,
        rule.name,
        windowStartMs + budget.windowMs - now,
      );
    }
  }
  return undefined;
}

/** Spends a finished query's cost from each budget's current window (not awaited: the response is sent). */
export function chargeBudgets(budgeted: readonly LimitRule[], subject: LimitSubject, cost: QueryCharge, deps: BudgetDeps): void {
  const now = deps.now();
  for (const rule of budgeted) {
    const budget = rule.budget as QueryBudget;
    const windowStartMs = Math.floor(now / budget.windowMs) * budget.windowMs;
    deps
      .guarded(
        deps.backend.spendBudget(rule.id, rule.bucketKey(subject), windowStartMs, budget.windowMs, {
          samples: cost.samples ?? 0,
          seconds: cost.seconds,
        }),
        undefined,
      )
      .catch(() => {});
  }
}
