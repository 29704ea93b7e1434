import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildLabelPolicy, type LabelPolicy } from '../policy/label-policy.js';
import { QueryParseError } from './errors.js';
import { decodeGoString, quoteGoString } from './go-string.js';
import { enforceLogQuery } from './logql/enforce.js';
import { enforceQuery } from './promql/enforce.js';
import { decodePromString, quotePromString } from './promql/string-literal.js';

const DECODES: readonly (readonly [string, string])[] = [
  ['"plain"', 'plain'],
  ['"a\\"b\\\\c"', 'a"b\\c'],
  ['"\\n\\t\\r\\a\\b\\f\\v"', '\n\t\r\x07\b\f\v'],
  ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'],
  // A Go string is bytes: escapes that spell a character's UTF-8 read as that character.
  ['"\\xc3\\xa9"', 'é'],
  ['"😀\t\u0000\ufeff"', '😀\t\u0000\ufeff'],
  ['`raw \\n "x"`', 'raw \\n "x"'],
];

const REFUSED = [
  '"\\q"',
  '"\\\'"',
  '"a\nb"',
  '"\\xff"',
  '"\\xc3"',
  '"\\400"',
  '"\\x4"',
  '"\\ud800"',
  '"unterminated',
  '"a"b"',
  '`a`b`',
  '`a\rb`',
  "'single'",
];

describe('decodeGoString (LogQL, Loki push labels)', () => {
  for (const [token, want] of DECODES) it(`decodes ${token}`, () => assert.equal(decodeGoString(token), want));
  for (const token of REFUSED) it(`refuses ${JSON.stringify(token)}`, () => assert.throws(() => decodeGoString(token), QueryParseError));
  it('reads the same as PromQL for every double-quoted or raw token (one codec)', () => {
    for (const [token, want] of DECODES) assert.equal(decodePromString(token), want);
    for (const token of REFUSED.filter((t) => !t.startsWith("'"))) assert.throws(() => decodePromString(token), QueryParseError, token);
  });
});

describe('quoteGoString', () => {
  it('round-trips any well-formed string, in both languages', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (s) => {
        const wellFormed = Buffer.from(s, 'utf8').toString('utf8');
        assert.equal(decodeGoString(quoteGoString(wellFormed)), wellFormed);
        assert.equal(decodePromString(quotePromString(wellFormed)), wellFormed);
      }),
    );
  });
});

// The one decision on lone surrogates (go-string.ts): refused, both ways, in both languages. A JavaScript string
// can hold one (a JSON "\ud800" in a token's claims); no UTF-8 form reaches the upstream as that value.
describe('lone surrogates', () => {
  const lone = ['a\ud800b', '\udc00', 'x\ud83d'];
  it('a literal holding one, as written, is refused in LogQL and PromQL (double, single and back quotes)', () => {
    for (const s of lone) {
      assert.throws(() => decodeGoString(`"${s}"`), QueryParseError);
      assert.throws(() => decodeGoString(`\`${s}\``), QueryParseError);
      for (const quote of ['"', "'", '`']) assert.throws(() => decodePromString(`${quote}${s}${quote}`), QueryParseError);
    }
  });
  it('a value holding one is never written as a literal', () => {
    for (const s of lone) {
      assert.throws(() => quoteGoString(s), QueryParseError);
      assert.throws(() => quotePromString(s), QueryParseError);
    }
  });
  it('the PromQL and LogQL enforcers refuse a query holding one, and a policy value holding one', () => {
    const policy = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
    assert.throws(() => enforceQuery('up{job="a\ud800"}', policy), QueryParseError);
    assert.throws(() => enforceLogQuery('{job="a\ud800"}', policy), QueryParseError);
    const lonePolicy = buildLabelPolicy({ values: ['team-\ud800'] }) as LabelPolicy;
    assert.throws(() => enforceQuery('up', lonePolicy), QueryParseError);
    assert.throws(() => enforceLogQuery('{job="x"}', lonePolicy), QueryParseError);
  });
  it('a pair is a character like any other', () => {
    assert.equal(decodeGoString('"\ud83d\ude00"'), '😀');
    assert.equal(decodePromString("'\ud83d\ude00'"), '😀');
    assert.equal(quoteGoString('😀'), '"😀"');
  });
});
