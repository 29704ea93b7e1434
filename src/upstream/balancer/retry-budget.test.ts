import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from './retry-budget.js';

test('the budget allows ratio × recent requests plus the floor, and refills as the window moves', () => {
  let now = 1_000_000;
  const budget = new RetryBudget({ ratio: 0.2, windowMs: 10_000, minPerSecond: 0 });
  for (let i = 0; i < 50; i++) budget.recordRequest(now);
  let granted = 0;
  while (budget.tryRetry(now)) granted++;
  assert.equal(granted, 10);
  now += 5_000;
  assert.equal(budget.tryRetry(now), false, 'the same window');
  now += 6_000;
  assert.equal(budget.tryRetry(now), false, 'no requests in the window: nothing to retry');
  budget.recordRequest(now);
  for (let i = 0; i < 9; i++) budget.recordRequest(now);
  assert.equal(budget.tryRetry(now), true);
  assert.equal(budget.tryRetry(now), true);
  assert.equal(budget.tryRetry(now), false);
});

test('the floor lets a quiet upstream retry', () => {
  const budget = new RetryBudget({ ratio: 0, windowMs: 2_000, minPerSecond: 1 });
  assert.equal(budget.tryRetry(0), true);
  assert.equal(budget.tryRetry(0), true);
  assert.equal(budget.tryRetry(0), false);
});
