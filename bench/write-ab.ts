import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GLIBC_HEAP_ENV } from '../src/server/glibc-heap.js';
import { readProcessTree } from './proc-stat.js';
import { startGateway, startUpstream, type BenchProcess } from './processes.js';
import { writeRequest, writeScenarioBodies, WRITE_SCENARIOS, type WriteScenario } from './write-scenarios.js';
import { runWrk, writeWrkScript } from './wrk.js';
import { median } from './cpu-median.js';

/**
 * A/B of a write scenario through sockets, in one run: one gateway per checkout (`--checkouts a,b`, each built),
 * the limited token, wrk on cpu0, gateways and upstream on cpu1, rounds interleaved (the order alternates), CPU
 * µs per request of each gateway from /proc per round and their medians, after a 4 s warm-up of each. `--cpu-prof
 * <dir>` profiles every gateway (docs/performance-ingest.md reads one). Bounded: rounds × checkouts × duration.
 */
const { values: flags } = parseArgs({
  options: {
    checkouts: { type: 'string', default: '.' },
    scenario: { type: 'string', default: 'rw1 2k' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '32' },
    'cpu-prof': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    /** Extra node flags for every gateway, comma-separated (e.g. `--import=/tmp/gc-observer.mjs`). */
    'node-args': { type: 'string', default: '' },
  },
});
const scenario = flags.scenario as WriteScenario;
if (!(WRITE_SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`unknown scenario ${scenario}`);
const LIMITED = 'bench-token-team-a-0123456789';
const dir = await mkdtemp(join(tmpdir(), 'write-ab-'));
const bodies = await writeScenarioBodies(dir);
const body = bodies[scenario];
const script = await writeWrkScript(dir, 'ab', writeRequest(body, LIMITED));
const upstream = await startUpstream({ cpu: 1 });
const checkouts = flags.checkouts.split(',');
const gateways: BenchProcess[] = [];
for (const checkout of checkouts)
  gateways.push(
    await startGateway({
      cpu: 1,
      upstreamOrigin: upstream.origin,
      workers: 1,
      token: 'bench-token-0123456789',
      limitedToken: LIMITED,
      nodeArgs: [
        ...(flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : []),
        ...flags['node-args'].split(',').filter((arg) => arg !== ''),
      ],
      logLevel: flags['log-level'],
      env: { ...GLIBC_HEAP_ENV },
      checkout,
    }),
  );
const cell = async (gateway: BenchProcess, seconds: number) => {
  const before = readProcessTree(gateway.pid);
  const wrk = await runWrk({
    origin: gateway.origin,
    path: body.path,
    script,
    connections: Number(flags.connections),
    durationS: seconds,
    cpu: 0,
  });
  const after = readProcessTree(gateway.pid);
  return {
    usPerReq: (((after?.cpuMs ?? 0) - (before?.cpuMs ?? 0)) * 1000) / wrk.requests,
    rps: wrk.requestsPerSecond,
    errors: wrk.errors,
    p99: wrk.p99Ms,
  };
};
try {
  for (const g of gateways) await cell(g, 4);
  const results: number[][] = checkouts.map(() => []);
  for (let round = 0; round < Number(flags.rounds); round++) {
    const order = checkouts.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const r = await cell(gateways[i] as BenchProcess, Number(flags.duration));
      results[i]?.push(r.usPerReq);
      process.stderr.write(
        `round ${round} ${checkouts[i]}: ${r.usPerReq.toFixed(0)} µs/req, ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, errors ${r.errors}\n`,
      );
    }
  }
  for (const [i, c] of checkouts.entries())
    console.log(`${c}: median ${median(results[i] ?? []).toFixed(0)} µs/req over [${results[i]?.map((x) => x.toFixed(0)).join(', ')}]`);
} finally {
  for (const g of gateways) await g.stop();
  await upstream.stop();
  await rm(dir, { recursive: true, force: true });
}
