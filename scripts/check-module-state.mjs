#!/usr/bin/env node
// Checks that src/ keeps no module-level mutable state: a module is loaded once per process, so a `let` or a
// mutable container at its top level is shared by every app, reload and test of that process (issue #18).
// State belongs to what createApp builds. Flagged at the top level of each source file (unit tests left out):
// `let` and `var`, a `new Map`/`Set`/`WeakMap`/`WeakSet`/`Array` not typed read-only (`ReadonlyMap`,
// `ReadonlySet`: a constant table says so), and `Buffer.alloc*`. A declaration may stay when the line above it
// says why, as `// module state: <reason>`; ALLOWED lists those that stood before this check (an entry whose
// declaration is gone is reported, not refused).
// Usage: node scripts/check-module-state.mjs [--json]   (exit 1 on any declaration not allowed)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `file:name` of the module state that stood when this check came (issue #18 item 8 moves or explains it). */
export const ALLOWED = new Set([
  'enforce/promql/inject.ts:compiledPolicies',
  'enforce/params.ts:FORM_METHODS',
  'routing/presets/mimir.ts:prometheusRows',
]);

const LET = /^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)/;
const CONTAINER = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::\s*([^=]+?))?\s*=\s*new\s+(Map|Set|WeakMap|WeakSet|Array)\b/;
const BUFFER = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*Buffer\.alloc/;
const REASON = /^\s*\/\/\s*module state:\s*\S/;

function listSources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listSources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module-level mutable declaration of one file's text: its name, line and kind. */
export function findModuleState(text) {
  const found = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const let_ = LET.exec(line);
    const container = CONTAINER.exec(line);
    const buffer = BUFFER.exec(line);
    let kind;
    let name;
    if (let_) [kind, name] = ['let', let_[1]];
    else if (container && !(container[2] ?? '').trim().startsWith('Readonly')) [kind, name] = [`new ${container[3]}`, container[1]];
    else if (buffer) [kind, name] = ['Buffer', buffer[1]];
    if (kind !== undefined) found.push({ name, line: i + 1, kind, reason: REASON.test(lines[i - 1] ?? '') });
  });
  return found;
}

export function checkModuleState(srcDir) {
  const files = listSources(srcDir);
  const declarations = files.flatMap((file) => {
    const where = relative(srcDir, file).split(/[\\/]/).join('/');
    return findModuleState(readFileSync(file, 'utf8')).map((d) => ({ ...d, file: where }));
  });
  const refused = declarations.filter((d) => !d.reason && !ALLOWED.has(`${d.file}:${d.name}`));
  const stale = [...ALLOWED].filter((entry) => !declarations.some((d) => `${d.file}:${d.name}` === entry));
  return { files: files.length, declarations: declarations.length, refused, stale };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
  const report = checkModuleState(srcDir);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report));
  } else {
    console.log(`${report.files} files, ${report.declarations} module-level mutable declarations, ${report.refused.length} refused`);
    for (const d of report.refused) {
      console.log(
        `  ${d.file}:${d.line} ${d.kind} ${d.name}: move it into what createApp builds, or say why above it (// module state: …)`,
      );
    }
    for (const entry of report.stale) console.log(`  ALLOWED lists ${entry}, which is gone: remove it from the list`);
  }
  process.exitCode = report.refused.length > 0 ? 1 : 0;
}
