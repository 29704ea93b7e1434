#!/usr/bin/env node
// Checks the import graph of src/ against the layers of STYLE.md: stages import downward only, and no file
// imports a file that imports it back. Unit tests beside their file (*.test.ts) are left out: a test may use
// anything. Type-only imports count too: a type is knowledge of the layer it comes from.
// Usage: node scripts/check-layers.mjs [--json]   (exit 1 on any cycle, upward import or folder pair)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers, lowest first. A file may import its own folder and any folder of a lower layer. Folders of one
 * layer are ordered too, left before right: one may import the ones before it, never the ones after it, so two
 * folders of a layer never need each other.
 */
export const LAYERS = [
  ['core'],
  ['config', 'policy', 'observability'],
  ['enforce'],
  ['secrets', 'identity', 'routing', 'upstream', 'limits'],
  ['server'],
  ['app.ts'],
  ['cli'],
];

const RANK = new Map(LAYERS.flatMap((layer, level) => layer.map((name, i) => [name, level * 100 + i])));

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function listSources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listSources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The top folder under src/ (or the file itself for src/app.ts): the unit the layers speak of. */
function unitOf(srcDir, file) {
  const parts = relative(srcDir, file).split(/[\\/]/);
  return parts.length === 1 ? parts[0] : parts[0];
}

export function readGraph(srcDir) {
  const files = listSources(srcDir);
  const known = new Set(files);
  const edges = new Map(files.map((file) => [file, []]));
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? match[3];
      if (!spec?.startsWith('.')) continue;
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (known.has(target)) edges.get(file).push(target);
    }
  }
  return { files, edges };
}

/** Strongly connected components with more than one file (Tarjan), each sorted. */
function findCycles(files, edges) {
  let index = 0;
  const stack = [];
  const state = new Map();
  const cycles = [];
  const visit = (file) => {
    state.set(file, { index, low: index, onStack: true });
    index += 1;
    stack.push(file);
    for (const next of edges.get(file)) {
      if (!state.has(next)) {
        visit(next);
        state.get(file).low = Math.min(state.get(file).low, state.get(next).low);
      } else if (state.get(next).onStack) {
        state.get(file).low = Math.min(state.get(file).low, state.get(next).index);
      }
    }
    if (state.get(file).low === state.get(file).index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        state.get(member).onStack = false;
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || edges.get(file).includes(file)) cycles.push(component.sort());
    }
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

export function checkLayers(srcDir) {
  const { files, edges } = readGraph(srcDir);
  const name = (file) => relative(srcDir, file);
  const cycles = findCycles(files, edges).map((component) => component.map(name));
  const upward = [];
  const unplaced = new Set();
  const folderEdges = new Set();
  for (const [file, targets] of edges) {
    const from = unitOf(srcDir, file);
    for (const target of targets) {
      const to = unitOf(srcDir, target);
      if (from === to) continue;
      folderEdges.add(`${from} -> ${to}`);
      if (!RANK.has(from)) unplaced.add(from);
      if (!RANK.has(to)) unplaced.add(to);
      if (RANK.has(from) && RANK.has(to) && RANK.get(to) > RANK.get(from)) {
        upward.push(`${name(file)} -> ${name(target)}`);
      }
    }
  }
  const mutualFolders = [...folderEdges]
    .map((edge) => edge.split(' -> '))
    .filter(([a, b]) => a < b && folderEdges.has(`${b} -> ${a}`))
    .map(([a, b]) => `${a} <-> ${b}`);
  return { files: files.length, cycles, upward: upward.sort(), mutualFolders, unplaced: [...unplaced].sort() };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const report = checkLayers(srcDir);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(
      `${report.files} files: ${report.cycles.length} cycles, ${report.upward.length} upward imports, ` +
        `${report.mutualFolders.length} folder pairs importing each other`,
    );
    for (const cycle of report.cycles) console.log(`  cycle: ${cycle.join(' <-> ')}`);
    for (const edge of report.upward) console.log(`  upward: ${edge}`);
    for (const pair of report.mutualFolders) console.log(`  folders: ${pair}`);
    for (const unit of report.unplaced) console.log(`  not in any layer: ${unit}`);
  }
  const failed = report.cycles.length + report.upward.length + report.mutualFolders.length + report.unplaced.length;
  process.exit(failed > 0 ? 1 : 0);
}
