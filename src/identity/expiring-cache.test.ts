import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringCache, digestKey } from './expiring-cache.js';

function manualClock(start = 1_000_000): { now(): number; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

test('an entry is served until its expiry and never after', () => {
  const clock = manualClock();
  const cache = new ExpiringCache<string>({ maxEntries: 10, clock });
  cache.set('k', 'v', clock.now() + 1000);
  assert.equal(cache.get('k'), 'v');
  clock.advance(999);
  assert.equal(cache.get('k'), 'v');
  clock.advance(1);
  assert.equal(cache.get('k'), undefined);
});

test('the least recently used entry is evicted when full', () => {
  const clock = manualClock();
  const cache = new ExpiringCache<number>({ maxEntries: 2, clock });
  cache.set('a', 1, clock.now() + 10_000);
  cache.set('b', 2, clock.now() + 10_000);
  assert.equal(cache.get('a'), 1); // a is now the most recent
  cache.set('c', 3, clock.now() + 10_000);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.equal(cache.size, 2);
});

test('an already expired value is not stored, and clear forgets everything', () => {
  const clock = manualClock();
  const cache = new ExpiringCache<number>({ maxEntries: 5, clock });
  cache.set('old', 1, clock.now());
  assert.equal(cache.get('old'), undefined);
  cache.set('x', 1, clock.now() + 5);
  cache.clear();
  assert.equal(cache.get('x'), undefined);
});

test('digestKey does not contain the secret and separates its parts', () => {
  const key = digestKey('alice', 'hunter2');
  assert.ok(!key.includes('hunter2'));
  assert.notEqual(digestKey('ab', 'c'), digestKey('a', 'bc'));
});
