import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCircuitBreaker } from './breaker.js';

test('breaker stays closed below the threshold and a success resets the count', () => {
  const breaker = createCircuitBreaker({ failureThreshold: 3, openTimeoutMs: 1000 });
  breaker.recordFailure(0);
  breaker.recordFailure(0);
  breaker.recordSuccess();
  breaker.recordFailure(0);
  breaker.recordFailure(0);
  assert.equal(breaker.state(), 'closed');
  assert.equal(breaker.tryAcquire(0), true);
});

test('breaker opens after N consecutive failures and refuses calls until open_timeout passes', () => {
  const breaker = createCircuitBreaker({ failureThreshold: 2, openTimeoutMs: 1000 });
  breaker.recordFailure(100);
  breaker.recordFailure(100);
  assert.equal(breaker.state(), 'open');
  assert.equal(breaker.reopensAtMs(), 1100);
  assert.equal(breaker.tryAcquire(1099), false);
  assert.equal(breaker.tryAcquire(1100), true);
  assert.equal(breaker.state(), 'half_open');
});

test('half-open: a failed trial opens again for a full period, a successful one closes', () => {
  const breaker = createCircuitBreaker({ failureThreshold: 5, openTimeoutMs: 1000 });
  for (let i = 0; i < 5; i += 1) breaker.recordFailure(0);
  assert.equal(breaker.tryAcquire(1000), true);
  breaker.recordFailure(1000);
  assert.equal(breaker.state(), 'open');
  assert.equal(breaker.tryAcquire(1999), false);
  assert.equal(breaker.tryAcquire(2000), true);
  breaker.recordSuccess();
  assert.equal(breaker.state(), 'closed');
  breaker.recordFailure(2000);
  assert.equal(breaker.state(), 'closed', 'the count restarted after closing');
});
