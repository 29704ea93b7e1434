#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's own test runner, through tsx, on the Node that runs this
// script, or on the project's own Node 24 (the `node` devDependency) when that one is older than the supported 22:
// `node scripts/run-tests.mjs` from a shell whose system Node is 20 still tests on the product's runtime.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function findTests(dir) {
  let found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const filters = process.argv.slice(2);
const files = ['src', 'test']
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => findTests(dir))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const projectNode = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
const isSupported = Number(process.versions.node.split('.')[0]) >= 22;
const nodeBinary = isSupported || !existsSync(projectNode) ? process.execPath : projectNode;
if (nodeBinary !== process.execPath) console.error(`node ${process.version} is unsupported: testing on ${projectNode}`);
// 2 minutes per test. Node 22's runner also applies --test-timeout to each file's process as a whole (24 applies
// it per test only), which cancels a file of many slow CLI tests on a busy machine: files get 15 minutes there.
const testTimeoutMs = Number(process.versions.node.split('.')[0]) >= 24 || nodeBinary !== process.execPath ? 120_000 : 900_000;
const result = spawnSync(nodeBinary, ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${testTimeoutMs}`, ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
