#!/usr/bin/env node
// Runs the compiled CLI (dist/). Installed as a package or in the container image there is no src/, and only
// dist/ ever runs: no tsx, no dev dependency at run time. In a git checkout (src/ present) it runs the TypeScript
// sources through tsx when there is no build, or when a source file is newer than the build (a stale dist/ must
// never run instead of the code in src/).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `serve` runs with settings that Node and glibc read only at process start, so it re-executes itself once (same
// pid, same arguments) with them, where Node can (process.execve: Node 22.15+, not on Windows); the cluster primary gives
// them to its workers either way.
// - V8's young generation capped at 8 MiB per semi-space, unless node's arguments or NODE_OPTIONS set a cap: why,
//   src/server/v8-young-generation.ts (keep the two in step).
// - glibc's heap setting, only with SCOPEGATE_MALLOC_TUNING=on (a value already set is kept): why it is opt-in,
//   src/server/glibc-heap.ts (keep the two in step).
const SEMI_SPACE_FLAG = '--max-semi-space-size=8';
const SEMI_SPACE_OPTION = /^--max[-_]semi[-_]space[-_]size(=|$)/;
const GLIBC_HEAP_ENV = { MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), MALLOC_TOP_PAD_: String(64 * 1024 * 1024) };
const hasSemiSpaceCap = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => SEMI_SPACE_OPTION.test(arg));
const extraArgs = hasSemiSpaceCap ? [] : [SEMI_SPACE_FLAG];
const missingHeapEnv =
  process.env.SCOPEGATE_MALLOC_TUNING === 'on' ? Object.entries(GLIBC_HEAP_ENV).filter(([name]) => process.env[name] === undefined) : [];
if (
  typeof process.execve === 'function' &&
  extraArgs.length + missingHeapEnv.length > 0 &&
  process.argv.includes('serve')
) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...extraArgs, ...process.argv.slice(1)], {
    ...process.env,
    ...Object.fromEntries(missingHeapEnv),
  });
}

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const sources = fileURLToPath(new URL('../src/', import.meta.url));

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const isCheckout = existsSync(sources);
const useCompiled = !isCheckout || (existsSync(compiled) && newestMtimeMs(sources) <= statSync(compiled).mtimeMs);
let main;
if (useCompiled) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(new URL('../src/cli/main.ts', import.meta.url).href));
}
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
