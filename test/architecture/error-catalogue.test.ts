import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERROR_CATALOGUE } from '../../src/core/error-codes.js';

// Issue #10: every error code is listed in the README with its status and meaning, one code per failure.

test('the README lists every code of the catalogue, with its status, and no code the gateway does not answer', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = new Map([...readme.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => [m[2] ?? '', Number(m[1])] as const));
  for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
    assert.equal(rows.get(code), status, `README row for ${code}`);
  }
  assert.deepEqual([...rows.keys()].filter((code) => !(code in ERROR_CATALOGUE)), []);
});
