import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Issue #18: src/ keeps no module-level mutable state (a module is loaded once per process, so its state would
// be shared by every app, reload and test of the process). The rules and the declarations that stood before the
// check are in the script; a new one moves into what createApp builds, or says why above it.

const SCRIPT = fileURLToPath(new URL('../../scripts/check-module-state.mjs', import.meta.url));

interface Declaration {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly kind: string;
}

test('src/ declares no module-level let, var or mutable container without a reason', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--json'], { encoding: 'utf8' });
  const report = JSON.parse(run.stdout) as { files: number; refused: readonly Declaration[] };
  assert.ok(report.files > 100, 'the script read the sources');
  assert.deepEqual(report.refused, []);
  assert.equal(run.status, 0);
});

test('the check sees a top-level let, an unannotated Map and a pooled buffer, and accepts a stated reason', async () => {
  const { findModuleState } = (await import(SCRIPT)) as {
    findModuleState: (text: string) => readonly (Declaration & { reason: boolean })[];
  };
  const found = findModuleState(
    [
      'let count = 0;',
      'export const cache = new Map<string, number>();',
      'const TABLE: ReadonlySet<string> = new Set(["a"]);',
      'const POOL = Buffer.allocUnsafe(64);',
      '// module state: one stdout per process, as the process has one',
      'let stdout: Writable | undefined;',
      'function f() {',
      '  let local = 1;',
      '}',
    ].join('\n'),
  );
  assert.deepEqual(
    found.map((d) => [d.name, d.kind, d.reason]),
    [
      ['count', 'let', false],
      ['cache', 'new Map', false],
      ['POOL', 'Buffer', false],
      ['stdout', 'let', true],
    ],
  );
});
