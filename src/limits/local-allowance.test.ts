import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalAllowance } from './local-allowance.js';

test('a draw reserves room up to the size; what Redis gave is taken one by one, then nothing', () => {
  const allowance = createLocalAllowance(5, 100);
  assert.equal(allowance.take('b', 0), undefined);
  assert.equal(allowance.reserve('b', 0), 5);
  // Pending counts: nothing more to reserve until the draw is answered.
  assert.equal(allowance.reserve('b', 0), 0);
  allowance.settle('b', 5, 3, 0);
  assert.ok(allowance.take('b', 10));
  assert.ok(allowance.take('b', 10));
  assert.ok(allowance.take('b', 10));
  assert.equal(allowance.take('b', 10), undefined);
});

test('held plus pending never passes the size: the next draw asks only for the room left', () => {
  const allowance = createLocalAllowance(10, 100);
  allowance.settle('b', allowance.reserve('b', 0), 10, 0);
  for (let i = 0; i < 4; i++) allowance.take('b', 1);
  assert.equal(allowance.needsRefill('b', 1), false);
  allowance.take('b', 1);
  assert.equal(allowance.needsRefill('b', 1), true);
  assert.equal(allowance.reserve('b', 1), 5);
  assert.equal(allowance.needsRefill('b', 1), false);
  // Redis gave more than asked (it cannot, but the bound must not depend on it): capped at the reservation.
  allowance.settle('b', 5, 9, 1);
  let count = 0;
  while (allowance.take('b', 2)) count += 1;
  assert.equal(count, 10);
});

test('unused tokens lapse ttl after their draw (counted from the draw, not its answer), oldest first', () => {
  const allowance = createLocalAllowance(10, 100);
  allowance.settle('b', allowance.reserve('b', 0), 4, 0);
  allowance.settle('b', allowance.reserve('b', 50), 6, 50);
  assert.ok(allowance.take('b', 99));
  // At 100 the first batch (3 left) lapsed; the second's 6 are left until 150.
  let count = 0;
  while (allowance.take('b', 100)) count += 1;
  assert.equal(count, 6);
  allowance.settle('b', allowance.reserve('b', 100), 2, 100);
  assert.equal(allowance.take('b', 200), undefined);
});

test('a token given back returns to its batch while that is alive, never after it lapsed', () => {
  const allowance = createLocalAllowance(2, 100);
  allowance.settle('b', allowance.reserve('b', 0), 1, 0);
  const batch = allowance.take('b', 0);
  assert.ok(batch);
  allowance.giveBack(batch, 10);
  assert.ok(allowance.take('b', 10));
  allowance.giveBack(batch, 100);
  assert.equal(allowance.take('b', 100), undefined);
});

test('buckets are separate', () => {
  const allowance = createLocalAllowance(3, 100);
  allowance.settle('a', allowance.reserve('a', 0), 3, 0);
  assert.equal(allowance.take('b', 0), undefined);
  assert.equal(allowance.needsRefill('b', 0), false);
  assert.ok(allowance.take('a', 0));
});
