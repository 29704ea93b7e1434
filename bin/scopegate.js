#!/usr/bin/env node
// Runs the compiled CLI (dist/). Installed as a package or in the container image there is no src/, and only
// dist/ ever runs: no tsx, no dev dependency at run time. In a git checkout (src/ present) it runs the TypeScript
// sources through tsx when there is no build, or when a source file is newer than the build (a stale dist/ must
// never run instead of the code in src/).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// glibc reads its malloc tunables only at process start: `serve` re-executes itself once (same pid, same
// arguments) with them set, where Node can (process.execve, Node 22.15+ on Linux). Why and the values:
// src/server/glibc-heap.ts (keep the two in step). A value already set is kept; SCOPEGATE_MALLOC_TUNING=off
// keeps glibc's defaults. On an older Node, set them in the environment (the container image and the
// systemd unit do); the cluster primary sets them for its workers either way.
const GLIBC_HEAP_ENV = { MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), MALLOC_TOP_PAD_: String(64 * 1024 * 1024) };
const missingHeapEnv = Object.entries(GLIBC_HEAP_ENV).filter(([name]) => process.env[name] === undefined);
if (
  process.platform === 'linux' &&
  typeof process.execve === 'function' &&
  process.env.SCOPEGATE_MALLOC_TUNING !== 'off' &&
  missingHeapEnv.length > 0 &&
  process.argv.includes('serve')
) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, ...Object.fromEntries(missingHeapEnv) });
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
