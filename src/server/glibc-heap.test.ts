import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GLIBC_HEAP_ENV, missingGlibcHeapEnv } from './glibc-heap.js';

test('missingGlibcHeapEnv fills what is unset, keeps what the operator set, and nothing when turned off', () => {
  assert.deepEqual(missingGlibcHeapEnv({}), GLIBC_HEAP_ENV);
  assert.deepEqual(missingGlibcHeapEnv({ MALLOC_TRIM_THRESHOLD_: '1048576' }), { MALLOC_TOP_PAD_: GLIBC_HEAP_ENV.MALLOC_TOP_PAD_ });
  assert.deepEqual(missingGlibcHeapEnv({ SCOPEGATE_MALLOC_TUNING: 'off' }), {});
});
