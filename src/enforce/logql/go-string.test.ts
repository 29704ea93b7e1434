import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QueryParseError } from '../errors.js';
import { decodeGoString, quoteGoString } from './go-string.js';

const DECODES: readonly (readonly [string, string])[] = [
  ['"plain"', 'plain'],
  ['"a\\"b\\\\c"', 'a"b\\c'],
  ['"\\n\\t\\r\\a\\b\\f\\v"', '\n\t\r\x07\b\f\v'],
  ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'],
  ['`raw \\n "x"`', 'raw \\n "x"'],
];

const REFUSED = ['"\\q"', '"\\\'"', '"a\nb"', '"\\xff"', '"\\ud800"', '"unterminated', '"a"b"', '`a`b`', "'single'"];

describe('decodeGoString', () => {
  for (const [token, want] of DECODES) it(`decodes ${token}`, () => assert.equal(decodeGoString(token), want));
  for (const token of REFUSED) it(`refuses ${JSON.stringify(token)}`, () => assert.throws(() => decodeGoString(token), QueryParseError));
});

describe('quoteGoString', () => {
  it('round-trips any well-formed string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: 'grapheme' })), (s) => {
        assert.equal(decodeGoString(quoteGoString(s)), s);
      }),
    );
  });
  it('refuses an unpaired surrogate (no UTF-8 form)', () => {
    assert.throws(() => quoteGoString('a\ud800'), QueryParseError);
  });
});
