import fc from 'fast-check';

/**
 * Bytes worth compressing, for the snappy decoders' property tests: runs of literals, repeats (copies of every
 * offset size, overlapping ones), a long run of zeros and a long cycle.
 */
const chunk = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 400 }))
    .map(([pattern, times]) => Uint8Array.from({ length: pattern.length * times }, (_, i) => pattern[i % pattern.length] as number)),
  fc.constantFrom(
    new Uint8Array(70000),
    Uint8Array.from({ length: 3000 }, (_, i) => i % 251),
  ),
);

export const compressibleData = fc.array(chunk, { maxLength: 8 }).map((chunks) => Buffer.concat(chunks));
