import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMQL_HOST, PROMQL_PATH } from './bodies.js';
import { median } from './cpu-median.js';
import { decisionLogToml, queryCostToml } from './observed-targets.js';
import { readProcessTree } from './proc-stat.js';
import { startGateway, startUpstream, type BenchProcess } from './processes.js';
import { runWrk, writeWrkScript, type WrkRequest } from './wrk.js';

/**
 * What the decision log (`decisions`, issue #21's goal: at most 10% of a small GET's CPU; `decisions promql`: the
 * same on the prometheus route, whose records carry the query before and after enforcement) or query cost
 * accounting (`query-cost`) adds to a small GET (`none`: the same config twice, what the method reads when there
 * is no difference), measured as `npm run bench` measures (the real CLI, wrk on cpu0, gateways and upstream on
 * cpu1, CPU µs per request from /proc), but with both gateways loaded *at the same time*: one without the
 * feature, one with it, each by its own wrk. This machine shares its host, whose load moves every gateway's CPU per
 * request by up to 2× from one second to the next; the bench's rows, one target after the other, then differ by
 * more than the feature costs. Loaded together, both see the same host, and the ratio of their CPU per request in
 * the same seconds is what the feature costs. Reported per round and as the median ratio. Bounded: rounds ×
 * duration. Run by `npm run bench` for the `scopegate decisions` and `scopegate query cost` targets, and alone
 * by observed-ab.ts.
 */
export const OBSERVED_FEATURES = ['decisions', 'decisions promql', 'query-cost', 'none'] as const;
export type ObservedFeature = (typeof OBSERVED_FEATURES)[number];

export interface ObservedCost {
  readonly feature: ObservedFeature;
  readonly rounds: number;
  /** Medians over the rounds of each gateway's CPU µs per request. */
  readonly withoutMicrosPerRequest: number;
  readonly withMicrosPerRequest: number;
  /** The median over rounds of (with ÷ without) in the same seconds, and that as a percentage. */
  readonly medianRatio: number;
  readonly costPercent: number;
  readonly ratios: readonly number[];
}

export interface ObservedCostOptions {
  readonly feature: ObservedFeature;
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
  /** wrk on cpu0, gateways and upstream on cpu1 (as the bench's rows); false: unpinned. */
  readonly pinned: boolean;
  /** Profiles both gateways into this directory. */
  readonly cpuProf?: string | undefined;
  readonly log: (line: string) => void;
}

const TOKEN = 'bench-token-0123456789';
const LIMITED = 'bench-token-team-a-0123456789';

export async function measureObservedCost(options: ObservedCostOptions): Promise<ObservedCost> {
  const { feature } = options;
  const dir = await mkdtemp(join(tmpdir(), 'observed-ab-'));
  // Decisions: the raw route, as `scopegate decisions`; the others the prometheus route with a limited token, as
  // `scopegate query cost` (the upstream answers with a stats block when asked for one).
  const request: WrkRequest =
    feature === 'query-cost' || feature === 'decisions promql'
      ? { method: 'GET', path: PROMQL_PATH, headers: { authorization: `Bearer ${LIMITED}`, host: PROMQL_HOST } }
      : { method: 'GET', path: PROMQL_PATH, headers: { authorization: `Bearer ${TOKEN}` } };
  const script = await writeWrkScript(dir, 'ab', request);
  const cpu = options.pinned ? { gateway: 1, wrk: 0 } : undefined;
  const upstream = await startUpstream({ cpu: cpu?.gateway });
  const gateways: BenchProcess[] = [];
  const start = (extraToml: string[]) =>
    startGateway({
      cpu: cpu?.gateway,
      upstreamOrigin: upstream.origin,
      workers: 1,
      token: TOKEN,
      limitedToken: LIMITED,
      nodeArgs: options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProf] : [],
      logLevel: 'info',
      extraToml,
    });

  /** Both gateways under load for `seconds`, at once: each one's CPU µs per request over those seconds. */
  const round = async (seconds: number) => {
    const before = gateways.map((g) => readProcessTree(g.pid)?.cpuMs ?? 0);
    const results = await Promise.all(
      gateways.map((g) =>
        runWrk({ origin: g.origin, path: request.path, script, connections: options.connections, durationS: seconds, cpu: cpu?.wrk }),
      ),
    );
    return gateways.map((g, i) => {
      const wrk = results[i] as Awaited<ReturnType<typeof runWrk>>;
      if (wrk.errors > 0) throw new Error(`${wrk.errors} errors from gateway ${i}`);
      const cpuMs = (readProcessTree(g.pid)?.cpuMs ?? 0) - (before[i] as number);
      return { usPerReq: (cpuMs * 1000) / wrk.requests, rps: wrk.requestsPerSecond, what: `${cpuMs} ms CPU, ${wrk.requests} requests` };
    });
  };

  try {
    gateways.push(await start([]));
    gateways.push(
      await start(
        feature === 'decisions' || feature === 'decisions promql' ? decisionLogToml(dir) : feature === 'query-cost' ? queryCostToml() : [],
      ),
    );
    await round(4); // warm-up: JIT, pools, the log's file opened
    const off: number[] = [];
    const on: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      type Reading = { usPerReq: number; rps: number; what: string };
      const [a, b] = (await round(options.durationS)) as [Reading, Reading];
      if (!(a.usPerReq > 0 && b.usPerReq > 0 && Number.isFinite(a.usPerReq) && Number.isFinite(b.usPerReq))) {
        options.log(`  ${feature} round ${r + 1}: left out, a reading failed (without: ${a.what}; with: ${b.what})`);
        continue;
      }
      off.push(a.usPerReq);
      on.push(b.usPerReq);
      ratios.push(b.usPerReq / a.usPerReq);
      options.log(
        `  ${feature} round ${r + 1}: without ${a.usPerReq.toFixed(1)} µs/req (${a.rps.toFixed(0)} req/s), with ${b.usPerReq.toFixed(1)} µs/req (${b.rps.toFixed(0)} req/s), ×${(b.usPerReq / a.usPerReq).toFixed(3)}`,
      );
    }
    const ratio = median(ratios);
    return {
      feature,
      rounds: ratios.length,
      withoutMicrosPerRequest: round1(median(off)),
      withMicrosPerRequest: round1(median(on)),
      medianRatio: Number(ratio.toFixed(3)),
      costPercent: round1((ratio - 1) * 100),
      ratios: ratios.map((x) => Number(x.toFixed(3))),
    };
  } finally {
    for (const g of gateways) await g.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The table `npm run bench` prints. */
export function formatObservedCost(results: readonly ObservedCost[]): string {
  const lines = [
    'What a feature adds to a small GET, both gateways loaded at once (bench/observed-cost.ts; decision log goal: ≤ 10%)',
    'feature            rounds  without µs/req  with µs/req  cost (median ratio)  ratios min–max',
  ];
  for (const r of results) {
    const range = r.ratios.length === 0 ? '' : `${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}`;
    lines.push(
      `${r.feature.padEnd(18)} ${String(r.rounds).padStart(6)}  ${r.withoutMicrosPerRequest.toFixed(0).padStart(14)}  ${r.withMicrosPerRequest.toFixed(0).padStart(11)}  ${`${r.costPercent >= 0 ? '+' : ''}${r.costPercent.toFixed(1)}%`.padStart(19)}  ${range}`,
    );
  }
  return lines.join('\n');
}

function round1(x: number): number {
  return Number(x.toFixed(1));
}
