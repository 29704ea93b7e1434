import { parseArgs } from 'node:util';
import { measureObservedCost, OBSERVED_FEATURES, type ObservedFeature } from './observed-cost.js';

/**
 * One feature's cost alone (observed-cost.ts says how it is measured; `npm run bench` runs it for its
 * `scopegate decisions` and `scopegate query cost` targets):
 *   npm run build && node --import tsx bench/observed-ab.ts [--feature decisions|'decisions promql'|query-cost|none] [--rounds 8] [--duration 3] [--cpu-prof DIR]
 * Prints each round on stderr and the result as JSON on stdout.
 */
const { values: flags } = parseArgs({
  options: {
    feature: { type: 'string', default: 'decisions' },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    /** Profiles both gateways into this directory (`--cpu-prof`): what the feature's code takes of a busy process. */
    'cpu-prof': { type: 'string' },
  },
});
if (!(OBSERVED_FEATURES as readonly string[]).includes(flags.feature)) throw new Error(`unknown feature ${flags.feature}`);
const result = await measureObservedCost({
  feature: flags.feature as ObservedFeature,
  rounds: Number(flags.rounds),
  durationS: Number(flags.duration),
  connections: Number(flags.connections),
  pinned: true,
  cpuProf: flags['cpu-prof'],
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
