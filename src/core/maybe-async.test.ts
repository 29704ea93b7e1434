import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSteps, type Steps } from './maybe-async.js';

/** Two steps and a guard, as pipeline.ts writes them: each step plain or a promise, a failure released once. */
function* steps(first: unknown, second: unknown, log: string[]): Steps<string> {
  try {
    const a = (yield first) as string;
    log.push(`a=${a}`);
    const b = (yield second) as string;
    log.push(`b=${b}`);
    return `${a}+${b}`;
  } catch (error) {
    log.push(`released after ${(error as Error).message}`);
    throw error;
  }
}

test('plain values all the way: the result is a plain value, no promise', () => {
  const log: string[] = [];
  const result = runSteps(steps('x', 'y', log));
  assert.equal(result, 'x+y');
  assert.deepEqual(log, ['a=x', 'b=y']);
});

test('a promise anywhere: the rest runs after it, and the result is a promise of the same value', async () => {
  for (const [first, second] of [
    [Promise.resolve('x'), 'y'],
    ['x', Promise.resolve('y')],
    [Promise.resolve('x'), Promise.resolve('y')],
  ] as const) {
    const log: string[] = [];
    const result = runSteps(steps(first, second, log));
    assert.ok(result instanceof Promise);
    assert.equal(await result, 'x+y');
    assert.deepEqual(log, ['a=x', 'b=y']);
  }
});

test('a rejection is thrown at its yield, so the steps catch it as they would around an await', async () => {
  const log: string[] = [];
  await assert.rejects(runSteps(steps('x', Promise.reject(new Error('refused')), log)) as Promise<string>, /refused/);
  assert.deepEqual(log, ['a=x', 'released after refused']);
});

test('a throw before any wait is thrown at once, not as a rejection', () => {
  const log: string[] = [];
  // biome-ignore lint/correctness/useYield: the step throws before its first wait, which is what this test is about
  function* failing(): Steps<string> {
    log.push('ran');
    throw new Error('bad framing');
  }
  assert.throws(() => runSteps(failing()), /bad framing/);
  assert.deepEqual(log, ['ran']);
});

test('a throw after a wait rejects the promise', async () => {
  function* failingLater(): Steps<string> {
    yield Promise.resolve();
    throw new Error('later');
  }
  await assert.rejects(runSteps(failingLater()) as Promise<string>, /later/);
});
