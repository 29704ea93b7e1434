import { createRequire } from 'node:module';
import { UnsupportedInput } from '../errors.js';
import { compressSnappyBlock, readSnappyLength, uncompressSnappyBlock } from './snappy-block.js';

/**
 * The snappy block codec the write enforcers use: the native one of the `snappy` package (napi-rs over Rust's
 * `snap`; its binary ships in a per-platform optional dependency such as `@napi-rs/snappy-linux-x64-gnu`) when it
 * loads, else the pure-JS decoder of snappy-block.ts and snappyjs' compressor. Chosen once, when this module loads.
 *
 * Both refuse the same bodies (a differential test pins them): the length header is read here first, so a body
 * stating more than `maxBytes` is refused before the native code is called or anything is allocated; the native
 * decoder then refuses truncated or malformed elements and output shorter or longer than stated, as Go's
 * snappy.Decode and the pure-JS decoder do.
 */
export interface SnappyCodec {
  /** `native` or `js`, for the performance page and the tests. */
  readonly name: 'native' | 'js';
  /** @throws UnsupportedInput naming the body (`what`) when it is not a valid block of at most `maxBytes`. */
  readonly uncompress: (body: Buffer, maxBytes: number, what: string) => Buffer;
  readonly compress: (message: Buffer) => Buffer;
}

/** What the codec uses of the `snappy` package. */
export interface NativeSnappyBinding {
  readonly uncompressSync: (input: Uint8Array, options: { asBuffer: true; copyOutputData: boolean }) => string | Buffer;
  readonly compressSync: (input: Uint8Array, options: { copyOutputData: boolean }) => Buffer;
}

export const JS_SNAPPY: SnappyCodec = { name: 'js', uncompress: uncompressSnappyBlock, compress: compressSnappyBlock };

/**
 * The native codec over `binding`. Output is copied into a V8 buffer (`copyOutputData`): the package's default
 * external buffer measured 3.5× slower per 500 KiB body (a finaliser per buffer), see docs/performance-ingest.md.
 */
export function nativeSnappyCodec(binding: NativeSnappyBinding): SnappyCodec {
  return {
    name: 'native',
    uncompress(body, maxBytes, what) {
      const { length } = readSnappyLength(body, maxBytes, what);
      let out: string | Buffer;
      try {
        out = binding.uncompressSync(body, { asBuffer: true, copyOutputData: true });
      } catch (error) {
        throw new UnsupportedInput(`${what} is not valid snappy (block format): ${(error as Error).message}`);
      }
      if (typeof out === 'string' || out.length !== length)
        throw new UnsupportedInput(`${what} is not valid snappy (block format): output ${out.length} bytes, stated ${length}`);
      return out;
    },
    compress: (message) => binding.compressSync(message, { copyOutputData: true }),
  };
}

/** The native codec when `load` returns the `snappy` package, else (no binary for this platform, a load error) the pure-JS one. */
export function loadSnappyCodec(
  load: () => NativeSnappyBinding = () => createRequire(import.meta.url)('snappy') as NativeSnappyBinding,
): SnappyCodec {
  try {
    const binding = load();
    if (typeof binding.uncompressSync !== 'function' || typeof binding.compressSync !== 'function') return JS_SNAPPY;
    return nativeSnappyCodec(binding);
  } catch {
    return JS_SNAPPY;
  }
}

// module state: the codec is chosen once per process (a native binary loads or not for the whole process) and never changes.
export const SNAPPY: SnappyCodec = loadSnappyCodec();

/** Decodes a snappy block with the process' codec. @throws UnsupportedInput as `SnappyCodec.uncompress`. */
export function uncompressSnappy(body: Buffer, maxBytes: number, what: string): Buffer {
  return SNAPPY.uncompress(body, maxBytes, what);
}

/** Encodes a snappy block with the process' codec. */
export function compressSnappy(message: Buffer): Buffer {
  return SNAPPY.compress(message);
}
