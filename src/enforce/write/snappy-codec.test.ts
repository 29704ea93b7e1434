import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import snappyjs from 'snappyjs';
import { UnsupportedInput } from '../errors.js';
import { JS_SNAPPY, loadSnappyCodec, type NativeSnappyBinding, nativeSnappyCodec, SNAPPY, type SnappyCodec } from './snappy-codec.js';
import { compressibleData } from '../../../test/servers/snappy-test-data.js';

/** The codec loaded from the installed `snappy` package: the lock carries the linux-x64-gnu binary. */
const NATIVE = loadSnappyCodec();

/** Decoded bytes, or undefined when the codec refuses (always with UnsupportedInput). */
function decode(codec: SnappyCodec, body: Buffer, max = 1 << 20): Buffer | undefined {
  try {
    return codec.uncompress(body, max, 'body');
  } catch (err) {
    assert.ok(err instanceof UnsupportedInput, `${codec.name} threw ${String(err)}`);
    assert.match(err.message, /^body is not valid snappy \(block format\): /);
    return undefined;
  }
}

const data = compressibleData;
const mutations = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 3 });

function mutate(body: Buffer, changes: readonly (readonly [number, number, boolean])[]): Buffer {
  let out = Buffer.from(body);
  for (const [at, byte, truncate] of changes) {
    if (out.length === 0) break;
    if (truncate) out = out.subarray(0, at % out.length);
    else out[at % out.length] = byte;
  }
  return out;
}

describe('snappy codec: native against pure JS', () => {
  it('the native codec loads here (the lock installs @napi-rs/snappy-linux-x64-gnu) and is the one the enforcers use', () => {
    assert.equal(NATIVE.name, 'native');
    assert.equal(SNAPPY.name, 'native');
  });

  it('both decode what either compresses, byte for byte', () => {
    fc.assert(
      fc.property(data, (input) => {
        for (const body of [NATIVE.compress(input), JS_SNAPPY.compress(input)]) {
          assert.deepEqual(decode(NATIVE, body), input);
          assert.deepEqual(decode(JS_SNAPPY, body), input);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('on mutated and truncated bodies, both refuse or both decode the same bytes', () => {
    fc.assert(
      fc.property(data, mutations, fc.boolean(), (input, changes, nativeCompressed) => {
        const body = mutate(nativeCompressed ? NATIVE.compress(input) : Buffer.from(snappyjs.compress(input)), changes);
        assert.deepEqual(decode(NATIVE, body), decode(JS_SNAPPY, body));
      }),
      { numRuns: 1000 },
    );
  });

  it('on random bytes, both refuse or both decode the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const body = Buffer.from(bytes);
        assert.deepEqual(decode(NATIVE, body), decode(JS_SNAPPY, body));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuse alike: a short or long output against the header, bad copies, truncation, a bad header', () => {
    const cases: Record<string, number[]> = {
      empty: [],
      'stated 10, holds 2': [10, 0x04, 0x61, 0x62],
      'stated 1, holds 2': [1, 0x04, 0x61, 0x62],
      'copy offset 0': [8, 0x04, 0x61, 0x62, 0x01, 0x00],
      'copy before the start': [8, 0x04, 0x61, 0x62, 0x01, 0x09],
      'literal past the end': [8, 0x1c, 0x61],
      'truncated copy': [8, 0x04, 0x61, 0x62, 0x02, 0x01],
      'length header over 5 bytes': [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      'length header unterminated': [0x80, 0x80],
      'trailing byte': [2, 0x04, 0x61, 0x62, 0x00],
    };
    for (const [name, bytes] of Object.entries(cases)) {
      assert.equal(decode(NATIVE, Buffer.from(bytes)), undefined, `native: ${name}`);
      assert.equal(decode(JS_SNAPPY, Buffer.from(bytes)), undefined, `js: ${name}`);
    }
    assert.deepEqual(decode(NATIVE, Buffer.from([0])), Buffer.alloc(0));
    assert.deepEqual(decode(NATIVE, Buffer.from([0x80, 0x00])), Buffer.alloc(0), 'a non-minimal header, as the JS decoder and Go read it');
  });

  it('a stated length over the limit is refused before the native code is called', () => {
    let calls = 0;
    const binding: NativeSnappyBinding = {
      uncompressSync: (input) => {
        calls++;
        return Buffer.from(snappyjs.uncompress(input));
      },
      compressSync: (input) => Buffer.from(snappyjs.compress(input)),
    };
    const codec = nativeSnappyCodec(binding);
    const body = NATIVE.compress(Buffer.alloc(100));
    assert.equal(decode(codec, body, 99), undefined);
    assert.equal(calls, 0);
    // The whole range the header allows: 0xffffffff stated in 5 bytes, a few bytes of body.
    assert.throws(() => codec.uncompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), 1 << 20, 'body'), /over the limit of 1048576/);
    assert.equal(calls, 0);
    assert.deepEqual(decode(codec, body, 100), Buffer.alloc(100));
    assert.equal(calls, 1);
  });

  it('a binding that returns fewer bytes than stated is refused (not trusted)', () => {
    const codec = nativeSnappyCodec({ uncompressSync: () => Buffer.alloc(3), compressSync: (input) => Buffer.from(input) });
    assert.equal(decode(codec, Buffer.from([4, 0x0c, 1, 2, 3, 4])), undefined);
  });
});

describe('snappy codec: the pure-JS fallback', () => {
  it('is chosen when the package does not load or lacks the functions', () => {
    assert.equal(
      loadSnappyCodec(() => {
        throw new Error('Cannot find native binding');
      }),
      JS_SNAPPY,
    );
    assert.equal(
      loadSnappyCodec(() => ({}) as NativeSnappyBinding),
      JS_SNAPPY,
    );
  });

  it('serves the enforcers when `snappy` cannot be resolved (a process whose resolver refuses it)', () => {
    const hook = `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) { if (specifier === 'snappy') throw new Error('no native snappy here'); return next(specifier, context); } });`;
    const script = `
const { SNAPPY } = await import(${JSON.stringify(new URL('./snappy-codec.ts', import.meta.url).href)});
const { enforceRemoteWrite } = await import(${JSON.stringify(new URL('./remote-write.ts', import.meta.url).href)});
const { buildLabelPolicy } = await import(${JSON.stringify(new URL('../../policy/label-policy.ts', import.meta.url).href)});
const options = { contentType: 'application/x-protobuf', contentEncoding: 'snappy', injectLabels: true, maxDecompressedBytes: 1 << 20, acceptsRemoteWrite2: true };
const policy = buildLabelPolicy({ values: ['a'] });
// WriteRequest { timeseries { labels { name: "__name__" value: "up" } } }
const body = SNAPPY.compress(Buffer.from([0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x02, ...Buffer.from('up')]));
const out = enforceRemoteWrite(body, policy, options);
let refused = '';
try { enforceRemoteWrite(Buffer.from([10, 0x04, 0x61, 0x62]), policy, options); } catch (error) { refused = error.constructor.name; }
console.log(JSON.stringify({ codec: SNAPPY.name, modified: out.isModified, decoded: SNAPPY.uncompress(out.body, 1 << 20, 'out').toString('latin1').includes('namespace'), refused }));
`;
    const result = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').at(-1) ?? ''), {
      codec: 'js',
      modified: true,
      decoded: true,
      refused: 'UnsupportedInput',
    });
  });
});
