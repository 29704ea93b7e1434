import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTraceContinuer } from './trace-context.js';

const continueTrace = createTraceContinuer();

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test("continues the caller's trace with the gateway as the new parent, keeping the flags", () => {
  const trace = continueTrace(CALLER);
  assert.equal(trace.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.match(trace.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(trace.traceparent, CALLER);
});

test('starts a new, unsampled trace when the header is absent or invalid', () => {
  const invalid = [
    undefined,
    '',
    'garbage',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    `${CALLER}-extra`,
  ];
  for (const header of invalid) {
    const trace = continueTrace(header);
    assert.notEqual(trace.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', String(header));
    assert.match(trace.traceparent, new RegExp(`^00-${trace.traceId}-[0-9a-f]{16}-00$`), String(header));
  }
});

test('a future version with extra fields is read as version 00 (W3C forward compatibility)', () => {
  assert.equal(
    continueTrace('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever').traceId,
    '4bf92f3577b34da6a3ce929d0e0e4736',
  );
});

test('each continuer cuts ids from its own pool: two of them (two gateways in one process) never repeat an id', () => {
  const first = createTraceContinuer();
  const second = createTraceContinuer();
  const ids = new Set<string>();
  for (let i = 0; i < 600; i++) for (const next of [first, second]) ids.add(next(undefined).traceId);
  assert.equal(ids.size, 1200);
});
