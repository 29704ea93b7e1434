import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AsciiWords } from './ascii-words.js';

const isAsciiByBytes = (bytes: Uint8Array, start: number, end: number) => bytes.subarray(start, end).every((b) => b < 0x80);

describe('AsciiWords', () => {
  it('agrees with a byte loop on any span, at any alignment of the buffer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.map((b) => (b & 0x7f) | (b % 7 === 0 ? 0x80 : 0))),
        fc.nat(3),
        fc.nat(),
        fc.nat(),
        (content, shift, a, b) => {
          const backing = new Uint8Array(content.length + 4);
          const bytes = backing.subarray(shift, shift + content.length);
          bytes.set(content);
          const ascii = new AsciiWords(bytes);
          const [start, end] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number];
          assert.equal(ascii.isAscii(start, end), isAsciiByBytes(bytes, start, end));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds one high byte at every position of a long ASCII span', () => {
    const bytes = Buffer.alloc(41, 0x61);
    const ascii = new AsciiWords(bytes);
    assert.equal(ascii.isAscii(0, bytes.length), true);
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = 0x80;
      assert.equal(ascii.isAscii(0, bytes.length), false, `at ${i}`);
      assert.equal(ascii.isAscii(i + 1, bytes.length), true);
      bytes[i] = 0x61;
    }
  });

  it('reads a pooled Buffer (an odd byteOffset) and an empty one', () => {
    const pooled = Buffer.from('\u0001abcdefgh\u00e9');
    assert.equal(new AsciiWords(pooled.subarray(1)).isAscii(0, 8), true);
    assert.equal(new AsciiWords(pooled.subarray(1)).isAscii(0, 10), false);
    assert.equal(new AsciiWords(Buffer.alloc(0)).isAscii(0, 0), true);
    assert.equal(new AsciiWords(Buffer.from([0xff, 0x61])).isAscii(1, 2), true);
  });
});
