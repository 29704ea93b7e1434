import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GLIBC_HEAP_ENV, missingGlibcHeapEnv } from './glibc-heap.js';

test('missingGlibcHeapEnv is opt-in: nothing by default or when off; with on, fills what is unset and keeps what the operator set', () => {
  assert.deepEqual(missingGlibcHeapEnv({}), {});
  assert.deepEqual(missingGlibcHeapEnv({ SCOPEGATE_MALLOC_TUNING: 'off' }), {});
  assert.deepEqual(missingGlibcHeapEnv({ SCOPEGATE_MALLOC_TUNING: 'on' }), GLIBC_HEAP_ENV);
  assert.deepEqual(missingGlibcHeapEnv({ SCOPEGATE_MALLOC_TUNING: 'on', MALLOC_TRIM_THRESHOLD_: '1048576' }), {
    MALLOC_TOP_PAD_: GLIBC_HEAP_ENV.MALLOC_TOP_PAD_,
  });
});

test('bin/scopegate.js re-executes serve with the same values (it cannot import them)', () => {
  const bin = readFileSync(new URL('../../bin/scopegate.js', import.meta.url), 'utf8');
  assert.ok(bin.includes('MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), MALLOC_TOP_PAD_: String(64 * 1024 * 1024)'));
  assert.deepEqual(GLIBC_HEAP_ENV, { MALLOC_TRIM_THRESHOLD_: '268435456', MALLOC_TOP_PAD_: '67108864' });
});
