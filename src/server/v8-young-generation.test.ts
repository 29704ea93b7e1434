import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { missingYoungGenerationArgs, SEMI_SPACE_FLAG } from './v8-young-generation.js';

test('missingYoungGenerationArgs adds the cap unless node arguments or NODE_OPTIONS set one (either spelling)', () => {
  assert.deepEqual(missingYoungGenerationArgs([], {}), [SEMI_SPACE_FLAG]);
  assert.deepEqual(missingYoungGenerationArgs(['--enable-source-maps'], { NODE_OPTIONS: '--max-old-space-size=512' }), [SEMI_SPACE_FLAG]);
  assert.deepEqual(missingYoungGenerationArgs(['--max-semi-space-size=64'], {}), []);
  assert.deepEqual(missingYoungGenerationArgs(['--max_semi_space_size', '4'], {}), []);
  assert.deepEqual(missingYoungGenerationArgs([], { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=32' }), []);
});

test('bin/scopegate.js re-executes serve with the same flag (it cannot import it)', () => {
  const bin = readFileSync(new URL('../../bin/scopegate.js', import.meta.url), 'utf8');
  assert.ok(bin.includes(`const SEMI_SPACE_FLAG = '${SEMI_SPACE_FLAG}';`));
});
