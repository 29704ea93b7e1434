import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFound, PayloadTooLarge } from '../core/http-errors.js';
import { FakeController, recordingHandler } from '../../test/servers/recording-handler.js';
import { hasContentCoding, ResponseFilterHandler } from './response-filter-handler.js';

const upper = (body: Buffer) => Buffer.from(body.toString('utf8').toUpperCase());

function exchange(
  filter: (body: Buffer) => Buffer,
  statusCode: number,
  headers: Record<string, string>,
  chunks: string[],
  maxBytes = 1024,
) {
  const next = recordingHandler();
  const controller = new FakeController();
  const handler = new ResponseFilterHandler(next, filter, maxBytes);
  handler.onRequestStart(controller, {});
  handler.onResponseStart(controller, statusCode, headers, 'msg');
  for (const chunk of chunks) if (!controller.aborted) handler.onResponseData(controller, Buffer.from(chunk));
  if (!controller.aborted) handler.onResponseEnd(controller, {});
  return { events: next.events, controller };
}

test('a 2xx is held until its end, then goes on filtered as one response with its own content-length', () => {
  const { events } = exchange(upper, 200, { 'content-type': 'application/json', 'content-length': '6' }, ['abc', 'def']);
  assert.deepEqual(
    events.map((e) => e.event),
    ['start', 'head', 'data', 'end'],
  );
  const head = events[1];
  assert.ok(head?.event === 'head');
  assert.equal(head.statusCode, 200);
  assert.deepEqual(head.headers, { 'content-type': 'application/json', 'content-length': '6' });
  assert.deepEqual(events[2], { ...events[2], chunk: 'ABCDEF' });
});

test('the filtered length replaces the upstream one', () => {
  const { events } = exchange(() => Buffer.from('[]'), 200, { 'content-length': '6', 'content-encoding': 'identity' }, ['abcdef']);
  const head = events[1];
  assert.ok(head?.event === 'head');
  assert.deepEqual(head.headers, { 'content-length': '2' });
});

test('any other status passes through untouched, chunk by chunk', () => {
  const { events } = exchange(upper, 503, { 'content-length': '4' }, ['do', 'wn']);
  assert.deepEqual(
    events.map((e) => (e.event === 'data' ? e.chunk : e.event)),
    ['start', 'head', 'do', 'wn', 'end'],
  );
});

test('a body over maxBytes aborts the exchange with 413 before the filter runs', () => {
  let ran = false;
  const { controller, events } = exchange(
    () => {
      ran = true;
      return Buffer.alloc(0);
    },
    200,
    {},
    ['12345', '67890'],
    8,
  );
  assert.ok(controller.reason instanceof PayloadTooLarge);
  assert.equal(ran, false);
  assert.deepEqual(
    events.map((e) => e.event),
    ['start'],
  );
});

test("the filter's HttpError is the answer; any other failure, or a coded body, is the upstream's fault (502)", () => {
  const answered = (filter: (body: Buffer) => Buffer, headers: Record<string, string> = {}) => {
    const { events } = exchange(filter, 200, headers, ['x']);
    assert.deepEqual(
      events.map((e) => e.event),
      ['start', 'error'],
      'no head of the upstream reaches the client',
    );
    const last = events[1];
    assert.ok(last?.event === 'error');
    return last.error as { status?: number; code?: string };
  };
  assert.equal(
    answered(() => {
      throw new NotFound('no_upstream', 'nothing left');
    }).status,
    404,
  );
  assert.equal(
    answered(() => {
      throw new SyntaxError('bad JSON');
    }).code,
    'upstream_bad_response',
  );
  const coded = answered(upper, { 'content-encoding': 'gzip' });
  assert.equal(coded.status, 502);
});

test('hasContentCoding: anything but identity (RFC 9110 §8.4)', () => {
  assert.equal(hasContentCoding(undefined), false);
  assert.equal(hasContentCoding('identity'), false);
  assert.equal(hasContentCoding(' Identity , '), false);
  assert.equal(hasContentCoding('gzip'), true);
  assert.equal(hasContentCoding(['identity', 'br']), true);
});
