import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Issue #11: the import graph of src/ keeps the layers of STYLE.md (ground floor core/; config, policy,
// observability; enforce/; secrets, identity, routing, upstream, limits; server/; app.ts; cli/): no file
// cycle, no upward import, no two folders importing each other. The layer order is defined in the script.

const SCRIPT = fileURLToPath(new URL('../../scripts/check-layers.mjs', import.meta.url));

interface LayerReport {
  readonly files: number;
  readonly cycles: readonly (readonly string[])[];
  readonly upward: readonly string[];
  readonly mutualFolders: readonly string[];
  readonly unplaced: readonly string[];
}

test('src/ has no import cycle, no upward import and no folders importing each other', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--json'], { encoding: 'utf8' });
  const report = JSON.parse(run.stdout) as LayerReport;
  assert.ok(report.files > 100, 'the script read the sources');
  assert.deepEqual(report.cycles, []);
  assert.deepEqual(report.upward, []);
  assert.deepEqual(report.mutualFolders, []);
  assert.deepEqual(report.unplaced, [], 'every top folder of src/ has a place in the layers');
  assert.equal(run.status, 0);
});
