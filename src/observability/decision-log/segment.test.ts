import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainLine, GENESIS, hashLine } from './chain.js';
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
    total += appendLine(segment, bytes, body);
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
