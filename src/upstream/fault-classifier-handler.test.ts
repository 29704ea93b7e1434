import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadTooLarge } from '../core/http-errors.js';
import { FakeController, recordingHandler } from '../../test/servers/recording-handler.js';
import { FaultClassifierHandler } from './fault-classifier-handler.js';
import { ForwardError } from './upstream-errors.js';

function errorAfter(error: Error): Error {
  const next = recordingHandler();
  new FaultClassifierHandler(next).onResponseError(new FakeController(), error);
  const [event] = next.events;
  assert.equal(event?.event, 'error');
  return event.error;
}

test("undici's and the socket's errors become a ForwardError of their kind, the cause kept", () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const classified = errorAfter(refused);
  assert.ok(classified instanceof ForwardError);
  assert.equal(classified.kind, 'connect');
  assert.equal(classified.cause, refused);
  assert.equal((errorAfter(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' })) as ForwardError).kind, 'reset');
});

test("the gateway's own answers and faults already named pass as they are", () => {
  const tooLarge = new PayloadTooLarge('upstream response is too large to filter');
  assert.equal(errorAfter(tooLarge), tooLarge);
  const timeout = new ForwardError('timeout', new Error('silent'));
  assert.equal(errorAfter(timeout), timeout);
});

test('every other event passes through unchanged (a decorator overrides only what it changes)', () => {
  const next = recordingHandler();
  const handler = new FaultClassifierHandler(next);
  const controller = new FakeController();
  handler.onRequestStart(controller, {});
  handler.onResponseStart(controller, 200, { a: '1' }, 'OK');
  handler.onResponseData(controller, Buffer.from('x'));
  handler.onResponseEnd(controller, {});
  assert.deepEqual(
    next.events.map((e) => e.event),
    ['start', 'head', 'data', 'end'],
  );
  assert.ok(next.events.every((e) => !('controller' in e) || e.controller === controller));
});
