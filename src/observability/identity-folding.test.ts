import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentityFolding, OTHER_IDENTITIES } from './identity-folding.js';

function folding(topN: number) {
  let nowMs = 0;
  const evicted: string[] = [];
  const fold = createIdentityFolding({
    topN,
    halfLifeMs: 3_600_000,
    now: () => nowMs,
    onEvicted: (tenant, id) => evicted.push(`${tenant}/${id}`),
  });
  return { fold, evicted, advance: (ms: number) => (nowMs += ms) };
}

test('the first N identities of a tenant are labelled, the rest are other; tenants rank apart', () => {
  const { fold } = folding(2);
  assert.equal(fold.labelFor('t', 'a', 10), 'a');
  assert.equal(fold.labelFor('t', 'b', 10), 'b');
  assert.equal(fold.labelFor('t', 'c', 15), OTHER_IDENTITIES, 'not over twice the lowest');
  assert.equal(fold.labelFor('u', 'c', 1), 'c', 'another tenant has its own places');
});

test('an identity over twice the lowest labelled score takes its place, and the displaced one is reported', () => {
  const { fold, evicted } = folding(1);
  fold.labelFor('t', 'a', 10);
  assert.equal(fold.labelFor('t', 'b', 15), OTHER_IDENTITIES);
  assert.equal(fold.labelFor('t', 'b', 6), 'b', '21 > 2 × 10');
  assert.deepEqual(evicted, ['t/a']);
  assert.equal(fold.labelFor('t', 'a', 1), OTHER_IDENTITIES);
});

test('scores halve every half-life, so an old heavy user yields', () => {
  const { fold, advance } = folding(1);
  fold.labelFor('t', 'a', 1000);
  assert.equal(fold.labelFor('t', 'b', 300), OTHER_IDENTITIES);
  advance(2 * 3_600_000); // a: 250, b: 75
  assert.equal(fold.labelFor('t', 'b', 450), 'b', '525 > 2 × 250');
});

test('identities outside the top N are tracked up to 8 N per tenant (memory bounded)', () => {
  const { fold } = folding(1);
  fold.labelFor('t', 'top', 1e9);
  for (let i = 0; i < 1000; i += 1) assert.equal(fold.labelFor('t', `id-${i}`, 1), OTHER_IDENTITIES);
  // The tracked set forgot most of them: one seen long ago starts again from its new score.
  assert.equal(fold.labelFor('t', 'id-0', 1), OTHER_IDENTITIES);
});
