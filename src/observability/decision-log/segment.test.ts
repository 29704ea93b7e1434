import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainLine, GENESIS, hashLine, TEXT_BODY } from './chain.js';
import type { DecisionRecord } from './record.js';
import { createRecordWriter } from './serialize.js';
import { appendLine, newSegment, segmentChunks } from './segment.js';

const BODIES = ['{"a":1}', '{}', '{"text":"é ü 中 😀 \u2028"}', `{"big":"${'x'.repeat(100_000)}"}`, '{"q":"query=up{namespace=\\"a\\"}"}'];

test('a segment holds the bytes chainLine gives, one line each, chained the same way, across chunks', () => {
  const bytes = { seq: 7, prev: GENESIS };
  const text = { seq: 7, prev: GENESIS };
  const segment = newSegment();
  const want: string[] = [];
  let total = 0;
  for (let i = 0; i < 300; i++) {
    const body = BODIES[i % BODIES.length] as string;
    total += appendLine(segment, bytes, TEXT_BODY, body);
    want.push(chainLine(text, body));
    assert.deepEqual(bytes, text, `state after line ${i}`);
  }
  const written = Buffer.concat(segmentChunks(segment));
  assert.ok(segmentChunks(segment).length > 1, 'more than one chunk');
  assert.equal(written.length, total);
  assert.equal(written.toString('utf8'), `${want.join('\n')}\n`);
  assert.equal(segment.lines, 300);
  assert.equal(text.prev, hashLine(want[want.length - 1] as string));
});

test('records and text lines mixed: the bytes of chainLine over their JSON text, across chunks and in a chunk of their own', () => {
  const writer = createRecordWriter();
  const bytes = { seq: 0, prev: GENESIS };
  const text = { seq: 0, prev: GENESIS };
  const segment = newSegment();
  const want: string[] = [];
  for (let i = 0; i < 400; i++) {
    const r: DecisionRecord = {
      time: '2026-12-06T10:00:00.000Z',
      requestId: `r${i}`,
      traceId: 'a'.repeat(32),
      decision: 'allow',
      status: 200,
      method: 'GET',
      durationMs: i / 7,
      path: '/api/v1/query',
      query: { before: `query=up\n"${'é'.repeat(i % 50 === 0 ? 30_000 : 3)}`, after: 'x\u0001' },
    };
    if (i % 3 === 0) appendLine(segment, bytes, TEXT_BODY, JSON.stringify({ dropped: i, time: r.time }));
    else appendLine(segment, bytes, writer, r);
    want.push(chainLine(text, i % 3 === 0 ? JSON.stringify({ dropped: i, time: r.time }) : JSON.stringify(r)));
  }
  assert.ok(segmentChunks(segment).length > 2);
  assert.equal(Buffer.concat(segmentChunks(segment)).toString('utf8'), `${want.join('\n')}\n`);
  assert.deepEqual(bytes, text);
});
