import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendHealth } from './backend-health.js';

test('a failure takes the backend out for its back-off, then one trial request decides; the back-off doubles up to its cap', () => {
  const health = new BackendHealth({ backoffMs: 1_000, maxBackoffMs: 3_000, probeWithRequests: true });
  assert.equal(health.canTake(0), true);
  health.failed(0);
  assert.equal(health.state, 'down');
  assert.equal(health.canTake(999), false);
  assert.equal(health.canTake(1_000), true);
  health.taken(1_000);
  assert.equal(health.state, 'half_open');
  assert.equal(health.canTake(1_000), false, 'one trial at a time');
  health.failed(1_000);
  assert.equal(health.canTake(2_999), false, 'twice as long');
  assert.equal(health.canTake(3_000), true);
  health.taken(3_000);
  health.failed(3_000);
  assert.equal(health.canTake(5_999), false);
  assert.equal(health.canTake(6_000), true, 'capped at max_backoff');
  health.taken(6_000);
  health.succeeded();
  assert.equal(health.state, 'up');
  health.failed(7_000);
  assert.equal(health.canTake(8_000), true, 'a success resets the back-off');
});

test('with an active check, no request is a trial: only the check brings the backend back', () => {
  const health = new BackendHealth({ backoffMs: 1_000, maxBackoffMs: 3_000, probeWithRequests: false });
  health.failed(0);
  assert.equal(health.canTake(1_000_000), false);
  health.succeeded();
  assert.equal(health.canTake(0), true);
});

test('a trial that ends without a verdict (the client left) lets the next request try', () => {
  const health = new BackendHealth({ backoffMs: 10, maxBackoffMs: 10, probeWithRequests: true });
  health.failed(0);
  health.taken(10);
  assert.equal(health.canTake(10), false);
  health.released();
  assert.equal(health.canTake(10), true);
});
