import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import snappy from 'snappyjs';
import { UnsupportedInput } from '../errors.js';
import { uncompressSnappyBlock } from './snappy-block.js';
import { compressibleData } from '../../../test/servers/snappy-test-data.js';

/** snappyjs decodes, or undefined when it refuses. */
function reference(body: Buffer): Buffer | undefined {
  try {
    return Buffer.from(snappy.uncompress(body));
  } catch {
    return undefined;
  }
}

function ours(body: Buffer, max = 1 << 20): Buffer | undefined {
  try {
    return uncompressSnappyBlock(body, max, 'body');
  } catch (err) {
    assert.ok(err instanceof UnsupportedInput);
    return undefined;
  }
}

const data = compressibleData;

describe('uncompressSnappyBlock (against snappyjs)', () => {
  it('decodes what snappyjs compresses, byte for byte', () => {
    fc.assert(
      fc.property(data, (input) => {
        const compressed = Buffer.from(snappy.compress(input));
        assert.deepEqual(ours(compressed), input);
      }),
      { numRuns: 300 },
    );
  });

  it('on mutated bodies, refuses or decodes exactly what snappyjs decodes', () => {
    fc.assert(
      fc.property(
        data,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 3 }),
        (input, mutations) => {
          let body = Buffer.from(snappy.compress(input));
          for (const [at, byte, truncate] of mutations) {
            if (body.length === 0) break;
            if (truncate) body = body.subarray(0, at % body.length);
            else body[at % body.length] = byte;
          }
          const got = ours(body);
          if (got !== undefined) assert.deepEqual(got, reference(body));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses a short output (snappyjs pads it with zeros), a stated length over the limit, and bad copies', () => {
    const cases: Record<string, number[]> = {
      'stated 10, holds 2': [10, 0x04, 0x61, 0x62],
      'copy offset 0': [8, 0x04, 0x61, 0x62, 0x01, 0x00],
      'copy before the start': [8, 0x04, 0x61, 0x62, 0x01, 0x09],
      'literal past the end': [8, 0x1c, 0x61],
      'output longer than stated': [1, 0x04, 0x61, 0x62],
      'length header over 5 bytes': [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    };
    for (const [name, bytes] of Object.entries(cases)) assert.equal(ours(Buffer.from(bytes)), undefined, name);
    assert.equal(ours(Buffer.from(snappy.compress(Buffer.alloc(100))), 99), undefined, 'over the limit');
    assert.deepEqual(ours(Buffer.from([0])), Buffer.alloc(0));
  });
});
