import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DecisionRecord } from './record.js';
import { createRecordWriter } from './serialize.js';

/** Strings JSON must escape, or must not: quotes, backslashes, every control character, lone and paired surrogates, U+2028/9. */
const HOSTILE = [
  '',
  '"',
  '\\',
  '\\"',
  '\u0000\u0001\u001f\u007f',
  '\b\f\n\r\t\v',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\udc00\ud800',
  '😀',
  '\u2028\u2029',
  '</script>',
  'namespace="team-a"',
  'é ü 中',
];

const hostile = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));

/** A record in the order buildDecisionRecord (server/record-decision.ts) sets its fields, any of them absent. */
const record = fc
  .record(
    {
      time: hostile,
      requestId: hostile,
      traceId: hostile,
      decision: fc.constantFrom('allow', 'deny', 'error') as fc.Arbitrary<DecisionRecord['decision']>,
      status: fc.integer({ min: 100, max: 599 }),
      method: hostile,
      durationMs: fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        // What the recorder gives (milliseconds rounded to the microsecond), around the digit-by-digit path's edges.
        fc.integer({ min: 0, max: 10_000_000 }).map((k) => Math.round((k / 1000) * 1e3) / 1e3),
        fc.integer({ min: 1e14, max: 1.1e15 }).map((k) => k / 1000),
        fc.constantFrom(0, -0, 1e21, 1e-7, 0.001, 0.01, 0.1, 0.3, 0.1 + 0.2, 1.005, 999999999999.999, 1e12, 2 ** 53, -1.5),
      ),
      code: hostile,
      path: hostile,
      identity: fc.record(
        {
          authenticator: hostile,
          subject: hostile,
          tenants: fc.array(hostile, { maxLength: 3 }),
          scopes: fc.array(hostile, { maxLength: 3 }),
          roles: fc.array(hostile, { maxLength: 3 }),
        },
        { requiredKeys: ['authenticator', 'subject', 'tenants', 'scopes'] },
      ),
      decidedBy: hostile,
      tenants: fc.array(hostile, { maxLength: 3 }),
      upstream: hostile,
      endpoint: hostile,
      policy: fc.record({ text: hostile, source: hostile }),
      limits: fc.record({ rules: fc.array(hostile, { maxLength: 3 }), refusedBy: hostile }, { requiredKeys: ['rules'] }),
      query: fc.oneof(
        fc.record({ before: hostile, after: hostile }, { requiredKeys: ['before'] }),
        fc.record({ beforeSha256: hostile, afterSha256: hostile }, { requiredKeys: ['beforeSha256'] }),
      ),
      upstreamStatus: fc.integer({ min: 100, max: 599 }),
      responseBytes: fc.oneof(fc.nat(), fc.constantFrom(0, 9, 10, 99, 100, 2 ** 31, 2 ** 53 - 1)),
    },
    { requiredKeys: ['time', 'requestId', 'traceId', 'decision', 'status', 'method', 'durationMs'] },
  )
  .map((r) => r as DecisionRecord);

/**
 * The record's bytes as the log writes them (after a line's `prev`, its `{` written as a comma), read back as
 * JSON text; written at `at` into a buffer of `room(record)` bytes past it, with bytes on both sides that must
 * stay as they were.
 */
function serializer(): (r: DecisionRecord) => string {
  const writer = createRecordWriter();
  return (r) => {
    const room = writer.room(r);
    const at = 3;
    const target = Buffer.alloc(at + room + 8, 0xaa);
    const end = writer.write(r, target.subarray(0, at + room), at);
    assert.notEqual(end, -1, 'room() bytes are enough');
    assert.ok(
      target.subarray(0, at).every((b) => b === 0xaa) && target.subarray(at + room).every((b) => b === 0xaa),
      'nothing written outside',
    );
    assert.equal(target[at], 0x2c);
    return `{${target.subarray(at + 1, end).toString('utf8')}`;
  };
}

test('the record writer writes what JSON.stringify writes, over hostile strings and every optional field', () => {
  const serialize = serializer();
  fc.assert(
    fc.property(record, (r) => {
      assert.equal(serialize(r), JSON.stringify(r));
    }),
    { numRuns: 2000 },
  );
});

test('short of room, the record writer says so (-1) and writes nothing past the end it was given', () => {
  const writer = createRecordWriter();
  fc.assert(
    fc.property(record, fc.nat(), (r, cut) => {
      const whole = Buffer.from(`,${JSON.stringify(r).slice(1)}`, 'utf8');
      const size = cut % (whole.length + 64);
      const target = Buffer.alloc(size + 16, 0xaa);
      const end = writer.write(r, target.subarray(0, size), 0);
      assert.ok(
        target.subarray(size).every((b) => b === 0xaa),
        'nothing past the end',
      );
      // It may refuse a record that would just fit (its checks count 3 bytes a character): never write one cut short.
      if (size < whole.length) assert.equal(end, -1);
      if (end !== -1) assert.deepEqual(target.subarray(0, end), whole);
    }),
    { numRuns: 1000 },
  );
});

test('each hostile string, in every string field, as JSON.stringify escapes it', () => {
  const serialize = serializer();
  for (const s of HOSTILE) {
    const r: DecisionRecord = {
      time: s,
      requestId: s,
      traceId: s,
      decision: 'deny',
      status: 403,
      method: s,
      durationMs: 1.5,
      code: s,
      path: s,
      decidedBy: s,
      tenants: [s, s],
      upstream: s,
      endpoint: s,
      limits: { rules: [s], refusedBy: s },
      query: { before: s, after: s },
    };
    assert.equal(serialize(r), JSON.stringify(r), JSON.stringify(s));
    assert.deepEqual(JSON.parse(serialize(r)), r);
  }
});

test('a frozen identity and policy are written once and reused; an unfrozen one is written each time', () => {
  const serialize = serializer();
  const identity = Object.freeze({ authenticator: 'static-token', subject: 'a', tenants: ['a'], scopes: ['read'] });
  const policy = { text: 'namespace="a"', source: 'token_entry' };
  const base = { time: 't', requestId: 'r', traceId: 'x', decision: 'allow', status: 200, method: 'GET', durationMs: 1 } as const;
  const first = serialize({ ...base, identity, policy });
  policy.text = 'namespace="b"';
  const second = serialize({ ...base, identity, policy });
  assert.equal(second, JSON.stringify({ ...base, identity, policy }));
  assert.notEqual(first, second);
});
