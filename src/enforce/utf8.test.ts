import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWellFormedUtf8, STRICT_UTF8 } from './utf8.js';

function decodes(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('isWellFormedUtf8', () => {
  it('agrees with the strict TextDecoder on the edges of every range', () => {
    const cases = [
      [0x7f],
      [0x80],
      [0xc1, 0xbf],
      [0xc2, 0x80],
      [0xdf, 0xbf],
      [0xe0, 0x9f, 0x80],
      [0xe0, 0xa0, 0x80],
      [0xed, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xef, 0xbf, 0xbf],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xf0, 0x90, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
      [0x61, 0x62, 0x63, 0xe2],
      [0xef, 0xbb, 0xbf, 0x61],
    ];
    for (const c of cases) assert.equal(isWellFormedUtf8(Uint8Array.from(c), 0, c.length), decodes(Uint8Array.from(c)), c.join(','));
  });

  it('agrees with the strict TextDecoder on random bytes and on any span of them', () => {
    const byte = fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.constantFrom(0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0x80, 0xbf),
    );
    const text = fc.oneof(
      fc.array(byte, { maxLength: 24 }),
      fc.string({ unit: 'binary', maxLength: 12 }).map((s) => [...Buffer.from(s, 'utf8')]),
    );
    fc.assert(
      fc.property(text, fc.nat(), fc.nat(), (values, a, b) => {
        const bytes = Uint8Array.from(values);
        const start = bytes.length === 0 ? 0 : a % bytes.length;
        const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
        assert.equal(isWellFormedUtf8(bytes, start, end), decodes(bytes.subarray(start, end)));
      }),
      { numRuns: 3000 },
    );
  });
});
