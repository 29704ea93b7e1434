import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DecisionRecord } from './record.js';
import { createRecordSerializer } from './serialize.js';

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
      durationMs: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e21, 1e-7, 0.001)),
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
      responseBytes: fc.nat(),
    },
    { requiredKeys: ['time', 'requestId', 'traceId', 'decision', 'status', 'method', 'durationMs'] },
  )
  .map((r) => r as DecisionRecord);

test('the serialiser writes what JSON.stringify writes, over hostile strings and every optional field', () => {
  const serialize = createRecordSerializer();
  fc.assert(
    fc.property(record, (r) => {
      assert.equal(serialize(r), JSON.stringify(r));
    }),
    { numRuns: 2000 },
  );
});

test('each hostile string, in every string field, as JSON.stringify escapes it', () => {
  const serialize = createRecordSerializer();
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
  const serialize = createRecordSerializer();
  const identity = Object.freeze({ authenticator: 'static-token', subject: 'a', tenants: ['a'], scopes: ['read'] });
  const policy = { text: 'namespace="a"', source: 'token_entry' };
  const base = { time: 't', requestId: 'r', traceId: 'x', decision: 'allow', status: 200, method: 'GET', durationMs: 1 } as const;
  const first = serialize({ ...base, identity, policy });
  policy.text = 'namespace="b"';
  const second = serialize({ ...base, identity, policy });
  assert.equal(second, JSON.stringify({ ...base, identity, policy }));
  assert.notEqual(first, second);
});
