import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { QueryParseError } from '../errors.js';
import { decodePromString, quotePromString } from './string-literal.js';

describe('decodePromString', () => {
  const rows: [string, string][] = [
    ['"abc"', 'abc'],
    ["'a\"b'", 'a"b'],
    ["'it\\'s'", "it's"],
    ['"a\\"b"', 'a"b'],
    ['"\\n\\t\\\\"', '\n\t\\'],
    ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'],
    ['"\\xc3\\xa9"', 'é'],
    ['`raw \\n`', 'raw \\n'],
    ['"😀\r\t\u0000"', '😀\r\t\u0000'],
  ];
  for (const [raw, want] of rows) it(`decodes ${raw}`, () => assert.equal(decodePromString(raw), want));

  const bad = [
    '"abc',
    '"a\\q"',
    '"\\\'"',
    "'\\\"'",
    '"\\xff"',
    '"\\400"',
    '"\\ud800"',
    '"\\x4"',
    '`a\rb`',
    '"a\nb"',
    '"a\ud800b"',
    "'\udc00'",
  ];
  for (const raw of bad) {
    it(`refuses ${JSON.stringify(raw)}`, () => assert.throws(() => decodePromString(raw), QueryParseError));
  }

  it('decodes a body without escapes to itself, or refuses its quote, newlines and lone surrogates (../go-string.ts)', () => {
    const unit = fc.constantFrom('a', 'é', '😀', '\ud800', '\udc00', '"', "'", '\n', '\r', '\t', '\u0000', '\ufeff');
    fc.assert(
      fc.property(fc.constantFrom('"', "'"), fc.array(unit, { maxLength: 8 }), (quote, units) => {
        const body = units.join('');
        if (body.includes(quote) || body.includes('\n') || /\p{Cs}/u.test(body)) {
          assert.throws(() => decodePromString(`${quote}${body}${quote}`), QueryParseError);
        } else {
          assert.equal(decodePromString(`${quote}${body}${quote}`), body);
        }
      }),
    );
  });
});

describe('quotePromString', () => {
  it('round-trips any string through decodePromString', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const wellFormed = Buffer.from(s, 'utf8').toString('utf8');
        assert.equal(decodePromString(quotePromString(wellFormed)), wellFormed);
      }),
    );
  });
});
