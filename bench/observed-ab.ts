import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROMQL_HOST, PROMQL_PATH } from './bodies.js';
import { decisionLogToml, queryCostToml } from './observed-targets.js';
import { readProcessTree } from './proc-stat.js';
import { startGateway, startUpstream, type BenchProcess } from './processes.js';
import { runWrk, writeWrkScript, type WrkRequest } from './wrk.js';

/**
 * What the decision log (`--feature decisions`, issue #21's goal: at most 10% of a small GET's CPU) or query cost
 * accounting (`--feature query-cost`) adds to a small GET (`--feature none`: the same config twice, what the method
 * reads when there is no difference), measured as `npm run bench` measures (the real CLI,
 * wrk on cpu0, gateways and upstream on cpu1, CPU µs per request from /proc), but with both gateways loaded *at
 * the same time*: one without the feature, one with it, each by its own wrk. This machine shares its host, whose
 * load moves every gateway's CPU per request by up to 2× from one second to the next; the bench's rounds, one
 * target after the other, then differ by more than the feature costs. Loaded together, both see the same host, and
 * the ratio of their CPU per request in the same seconds is what the feature costs. Reported per round and as the
 * median ratio. Bounded: rounds × duration.
 *   npm run build && node --import tsx bench/observed-ab.ts [--feature decisions|'decisions promql'|query-cost|none] [--rounds 8] [--duration 3] [--cpu-prof DIR]
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
const TOKEN = 'bench-token-0123456789';
const LIMITED = 'bench-token-team-a-0123456789';
const feature = flags.feature;
if (!['decisions', 'decisions promql', 'query-cost', 'none'].includes(feature)) throw new Error(`unknown feature ${feature}`);

const dir = await mkdtemp(join(tmpdir(), 'observed-ab-'));
// Decisions: the raw route, as `scopegate decisions` in npm run bench; query cost and `decisions promql` (whose
// records carry the query before and after enforcement): the prometheus route with a limited token, as
// `scopegate query cost` (the upstream answers with a stats block when asked for one).
const request: WrkRequest =
  feature === 'query-cost' || feature === 'decisions promql'
    ? { method: 'GET', path: PROMQL_PATH, headers: { authorization: `Bearer ${LIMITED}`, host: PROMQL_HOST } }
    : { method: 'GET', path: PROMQL_PATH, headers: { authorization: `Bearer ${TOKEN}` } };
const script = await writeWrkScript(dir, 'ab', request);
const upstream = await startUpstream({ cpu: 1 });
const gateways: BenchProcess[] = [];
const start = (extraToml: string[]) =>
  startGateway({
    cpu: 1,
    upstreamOrigin: upstream.origin,
    workers: 1,
    token: TOKEN,
    limitedToken: LIMITED,
    nodeArgs: flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : [],
    logLevel: 'info',
    extraToml,
  });

/** Both gateways under load for `seconds`, at once: each one's CPU µs per request over those seconds. */
const round = async (seconds: number) => {
  const before = gateways.map((g) => readProcessTree(g.pid)?.cpuMs ?? 0);
  const results = await Promise.all(
    gateways.map((g) =>
      runWrk({ origin: g.origin, path: request.path, script, connections: Number(flags.connections), durationS: seconds, cpu: 0 }),
    ),
  );
  return gateways.map((g, i) => {
    const wrk = results[i] as Awaited<ReturnType<typeof runWrk>>;
    if (wrk.errors > 0) throw new Error(`${wrk.errors} errors from gateway ${i}`);
    return { usPerReq: (((readProcessTree(g.pid)?.cpuMs ?? 0) - (before[i] as number)) * 1000) / wrk.requests, rps: wrk.requestsPerSecond };
  });
};

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
try {
  gateways.push(await start([]));
  gateways.push(await start(feature.startsWith('decisions') ? decisionLogToml(dir) : feature === 'query-cost' ? queryCostToml() : []));
  await round(4); // warm-up: JIT, pools, the log's file opened
  const off: number[] = [];
  const on: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < Number(flags.rounds); r++) {
    const [a, b] = (await round(Number(flags.duration))) as [{ usPerReq: number; rps: number }, { usPerReq: number; rps: number }];
    if (!(a.usPerReq > 0 && b.usPerReq > 0 && Number.isFinite(a.usPerReq) && Number.isFinite(b.usPerReq))) {
      process.stderr.write(`round ${r + 1}: left out, a CPU reading failed (${a.usPerReq}, ${b.usPerReq} µs/req)\n`);
      continue;
    }
    off.push(a.usPerReq);
    on.push(b.usPerReq);
    ratios.push(b.usPerReq / a.usPerReq);
    process.stderr.write(
      `round ${r + 1}: without ${a.usPerReq.toFixed(1)} µs/req (${a.rps.toFixed(0)} req/s), with ${b.usPerReq.toFixed(1)} µs/req (${b.rps.toFixed(0)} req/s), ×${(b.usPerReq / a.usPerReq).toFixed(3)}\n`,
    );
  }
  const ratio = median(ratios);
  console.log(
    JSON.stringify({
      feature,
      rounds: ratios.length,
      withoutMicrosPerRequest: Number(median(off).toFixed(1)),
      withMicrosPerRequest: Number(median(on).toFixed(1)),
      medianRatio: Number(ratio.toFixed(3)),
      costPercent: Number(((ratio - 1) * 100).toFixed(1)),
      ratios: ratios.map((x) => Number(x.toFixed(3))),
    }),
  );
} finally {
  for (const g of gateways) await g.stop();
  await upstream.stop();
  await rm(dir, { recursive: true, force: true });
}
