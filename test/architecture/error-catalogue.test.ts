import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERROR_CATALOGUE } from '../../src/core/error-codes.js';

// Issue #10: every error code is listed in docs/errors.md with its status and meaning, one code per failure.

test('docs/errors.md lists every code of the catalogue, with its status, and no code the gateway does not answer', async () => {
  const page = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map([...page.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => [m[2] ?? '', Number(m[1])] as const));
  for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
    assert.equal(rows.get(code), status, `docs/errors.md row for ${code}`);
  }
  assert.deepEqual(
    [...rows.keys()].filter((code) => !(code in ERROR_CATALOGUE)),
    [],
  );
});
