import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeController, recordingHandler } from '../../test/servers/recording-handler.js';
import { TimeoutHandler } from './timeout-handler.js';
import { ForwardError } from './upstream-errors.js';

function started(timeoutMs: number) {
  const next = recordingHandler();
  const controller = new FakeController();
  const handler = new TimeoutHandler(next, timeoutMs);
  handler.onRequestStart(controller, {});
  return { next, controller, handler };
}

test('an upstream silent for `timeoutMs` after the request starts: the exchange is aborted with a timeout', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { controller } = started(1_000);
  t.mock.timers.tick(999);
  assert.equal(controller.aborted, false);
  t.mock.timers.tick(1);
  assert.ok(controller.reason instanceof ForwardError);
  assert.equal(controller.reason.kind, 'timeout');
});

// Real timers here: node:test's mock timers do not implement `refresh`, which the handler re-arms with.
test('the head and each chunk re-arm the timer: silence is measured between them, not over the whole response', async () => {
  const { handler, controller } = started(300);
  await delay(150);
  handler.onResponseStart(controller, 200, {}, 'OK');
  await delay(150);
  handler.onResponseData(controller, Buffer.from('a'));
  await delay(150);
  assert.equal(controller.aborted, false, '450 ms after the start, 150 ms after the last chunk');
  await delay(300);
  assert.equal(controller.aborted, true);
});

test('paused by the handlers after it (a full client socket), the timer stops; resumed, it runs again', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { handler, controller, next } = started(1_000);
  // The next handler gets the timeout handler as its controller, so it sees pause and resume.
  const first = next.events[0];
  assert.ok(first?.event === 'start' && first.controller === handler);
  handler.pause();
  assert.equal(controller.paused, true);
  t.mock.timers.tick(5_000);
  assert.equal(controller.aborted, false);
  handler.resume();
  assert.equal(controller.resumes, 1);
  t.mock.timers.tick(1_000);
  assert.equal(controller.aborted, true);
});

test('a chunk undici hands over after the pause does not re-arm the timer: the client is still the slow one', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { handler, controller } = started(1_000);
  handler.onResponseStart(controller, 200, {}, 'OK');
  handler.pause();
  handler.onResponseData(controller, Buffer.from('parsed before the pause'));
  t.mock.timers.tick(5_000);
  assert.equal(controller.aborted, false);
});

test('the end and an error stop the timer for good, even if a late resume comes', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  for (const finish of ['end', 'error'] as const) {
    const { handler, controller, next } = started(1_000);
    if (finish === 'end') handler.onResponseEnd(controller, {});
    else handler.onResponseError(controller, new Error('reset'));
    handler.resume();
    t.mock.timers.tick(10_000);
    assert.equal(controller.aborted, false, finish);
    assert.equal(next.events.at(-1)?.event, finish);
  }
});

test('abort and the state getters reach the controller undici gave', () => {
  const { handler, controller } = started(1_000);
  const reason = new Error('client left');
  handler.abort(reason);
  assert.equal(controller.reason, reason);
  assert.equal(handler.aborted, true);
  assert.equal(handler.reason, reason);
  handler.onResponseError(controller, reason);
});
