import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SEMI_SPACE_FLAG } from '../src/server/v8-young-generation.js';
import { BIG_PATH, CONNECTIONS_PATH, FORM_BODY, FORM_PATH, PROMQL_HOST, PROMQL_PATH } from './bodies.js';
import { LIMITS_TARGETS, limitsToml, startBenchRedis } from './limits.js';
import { formatObservedCost, measureObservedCost, type ObservedCost, type ObservedFeature } from './observed-cost.js';
import { DECISIONS_TARGET, QUERY_COST_TARGET, decisionLogToml, queryCostToml, withTempDir } from './observed-targets.js';
import { buildGoPeer, hasCommand, startFloor, startGoPeer, startNginx } from './peers.js';
import { readProcessTree } from './proc-stat.js';
import { startGateway, startUpstream, type BenchProcess, type Placement } from './processes.js';
import { formatEnforceBench, runPromqlEnforceBench } from './promql-enforce.js';
import { runWriteEnforceBench, type WriteEnforceRow } from './write-enforce.js';
import { WRITE_SCENARIOS, writeRequest, writeScenarioBodies, type WriteBody, type WriteScenario } from './write-scenarios.js';
import { runWrk, writeWrkScript, type WrkRequest, type WrkResult } from './wrk.js';

/**
 * `npm run bench`: every proxy against the same upstream, in one run: direct, nginx (auth map), a Go
 * httputil.ReverseProxy peer (token map), the bare Node floor (node:http + undici, no auth) and scopegate
 * (raw route; prometheus route with a one-namespace identity). wrk is the load, pinned to cpu0; upstream and
 * proxies are pinned to cpu1. Rounds are interleaved (each round runs every cell, in a rotated order) and the
 * ratios to the Go peer are taken per round, so load from other processes on the machine hits every proxy
 * alike. The write scenarios (bench/write-scenarios.ts: remote write 1.0 and 2.0, inject mode, Loki push, OTLP)
 * run through scopegate with a full-access and a limited token, direct, and through the Go peer where it checks
 * the same (remote write 1.0). See bench/README.md.
 */
const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    /** Before the rounds, every proxy runs every scenario for this many seconds in all (JIT warm-up, heaps at size). */
    'initial-warmup': { type: 'string', default: '9' },
    connections: { type: 'string', default: '32' },
    /** Comma-separated subsets. */
    scenarios: { type: 'string', default: `small,form,100KB,${WRITE_SCENARIOS.join(',')}` },
    targets: {
      type: 'string',
      default:
        'direct,nginx,go,floor,scopegate,scopegate promql,scopegate limits,scopegate limits redis,scopegate limits redis local,scopegate decisions,scopegate query cost,scopegate full,scopegate limited',
    },
    /** Also run `proxy.workers = N` (unpinned): scaling, where the machine has cores to spare. */
    workers: { type: 'string', default: '1' },
    /** Also run scopegate with the opt-in glibc heap setting (SCOPEGATE_MALLOC_TUNING=on), to compare. */
    'heap-ab': { type: 'boolean', default: false },
    /** Also run scopegate with these Node options (NODE_OPTIONS), as "scopegate +<options>": A/B of a V8 flag. */
    'node-options': { type: 'string' },
    /** Also run scopegate from another checkout (built), as "scopegate baseline": A/B of a change in one run. */
    baseline: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    /** Then load the scopegate process with small GETs for this many seconds, RSS read every 30 s (flat or growing). */
    soak: { type: 'string', default: '0' },
    /** Write a V8 CPU profile of the (single-process) gateway into this directory. */
    'cpu-prof': { type: 'string' },
    /**
     * Rounds (of 3 s) of the decision log's and query cost's A/B with both gateways loaded at once
     * (observed-cost.ts), run when their targets and the small scenario are; 0: not run.
     */
    'observed-rounds': { type: 'string', default: '8' },
  },
});

const TOKEN = 'bench-token-0123456789';
const LIMITED_TOKEN = 'bench-token-team-a-0123456789';
const FULL_TOKEN = 'bench-token-full-access-0123456789';
const rounds = Number(flags.rounds);
const durationS = Number(flags.duration);
const warmupS = Number(flags.warmup);
const initialWarmupS = Number(flags['initial-warmup']);
const connections = Number(flags.connections);
const workers = Number(flags.workers);
const pinned = !flags['no-pin'] && availableParallelism() >= 2 && hasCommand('taskset');
const LOAD: Placement = pinned ? { cpu: 0 } : {};
const PROXY: Placement = pinned ? { cpu: 1 } : {};
const wanted = (list: string, name: string) =>
  list
    .split(',')
    .map((s) => s.trim())
    .includes(name);

type ReadScenario = 'small' | 'form' | '100KB';
type Scenario = ReadScenario | WriteScenario;
const READ_SCENARIOS: readonly ReadScenario[] = (['small', 'form', '100KB'] as const).filter((s) => wanted(flags.scenarios, s));
const WRITES: readonly WriteScenario[] = WRITE_SCENARIOS.filter((s) => wanted(flags.scenarios, s));
const SCENARIOS: readonly Scenario[] = [...READ_SCENARIOS, ...WRITES];
const isWrite = (scenario: Scenario): scenario is WriteScenario => (WRITE_SCENARIOS as readonly string[]).includes(scenario);
/** Targets that are the `scopegate` process reached with another token or Host. */
const SHARED_GATEWAY = new Set(['scopegate promql', 'scopegate full', 'scopegate limited']);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/** What each scenario sends; the small answer comes back for the first two, 100 KB for the last. */
function request(scenario: ReadScenario, token: string, host?: string): WrkRequest {
  const headers = { ...bearer(token), ...(host ? { host } : {}) };
  if (scenario === 'form') return { method: 'POST', path: FORM_PATH, headers: { ...headers, ...FORM }, body: FORM_BODY };
  return { method: 'GET', path: scenario === '100KB' ? BIG_PATH : PROMQL_PATH, headers };
}

interface Target {
  readonly name: string;
  readonly scenarios: readonly Scenario[];
  readonly request: (scenario: Scenario) => WrkRequest;
  /** Started once, used by every round; `undefined` for direct. */
  readonly start: (upstream: BenchProcess) => Promise<BenchProcess | undefined>;
}

function targets(goBinary: string | undefined, writes: Readonly<Record<WriteScenario, WriteBody>>): Target[] {
  /** A read scenario's request with `token`, or a write scenario's with `writeToken`. */
  const either = (token: string, writeToken: string, host?: string) => (s: Scenario) =>
    isWrite(s) ? writeRequest(writes[s], writeToken) : request(s, token, host);
  const gateway = (
    name: string,
    options: { workers: number; placement: Placement; env?: Record<string, string>; extraToml?: string[]; checkout?: string },
  ): Target => ({
    name,
    scenarios: READ_SCENARIOS,
    request: either(TOKEN, TOKEN),
    start: (upstream) =>
      startGateway({
        ...options.placement,
        upstreamOrigin: upstream.origin,
        workers: options.workers,
        token: TOKEN,
        limitedToken: LIMITED_TOKEN,
        fullAccessToken: FULL_TOKEN,
        nodeArgs: flags['cpu-prof'] && options.workers === 1 ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : [],
        logLevel: flags['log-level'],
        env: { SCOPEGATE_MALLOC_TUNING: undefined, ...options.env },
        ...(options.extraToml ? { extraToml: options.extraToml } : {}),
        ...(options.checkout ? { checkout: options.checkout } : {}),
      }),
  });
  const all: Target[] = [
    { name: 'direct', scenarios: SCENARIOS, request: either(TOKEN, TOKEN), start: async () => undefined },
    {
      name: 'nginx',
      scenarios: READ_SCENARIOS,
      request: either(TOKEN, TOKEN),
      start: (u) => startNginx(PROXY, u.origin, { [TOKEN]: 'bench' }),
    },
    {
      // Remote write 1.0 with the limited token: the Go peer checks every series as scopegate does.
      name: 'go',
      scenarios: [...READ_SCENARIOS, ...WRITES.filter((s) => writes[s].goChecks)],
      request: either(TOKEN, LIMITED_TOKEN),
      start: (u) =>
        startGoPeer(PROXY, goBinary as string, u.origin, { [TOKEN]: 'bench', [LIMITED_TOKEN]: 'bench' }, { [LIMITED_TOKEN]: 'team-a' }),
    },
    { name: 'floor', scenarios: READ_SCENARIOS, request: either(TOKEN, TOKEN), start: (u) => startFloor(PROXY, u.origin) },
    gateway('scopegate', { workers: 1, placement: PROXY }),
    {
      // The same gateway process answers the prometheus route (Host prom.bench), started once for both.
      name: 'scopegate promql',
      scenarios: READ_SCENARIOS.filter((s) => s !== '100KB'),
      request: either(LIMITED_TOKEN, LIMITED_TOKEN, PROMQL_HOST),
      start: async () => undefined,
    },
    // Writes through the same process: a full-access token (the body passes undecoded) and a limited one.
    { name: 'scopegate full', scenarios: WRITES, request: either(FULL_TOKEN, FULL_TOKEN), start: async () => undefined },
    { name: 'scopegate limited', scenarios: WRITES, request: either(LIMITED_TOKEN, LIMITED_TOKEN), start: async () => undefined },
  ];
  // The limiter's cost: a rule that matches every request and is never hit, memory and Redis (bench/limits.ts).
  all.push(gateway(LIMITS_TARGETS[0], { workers: 1, placement: PROXY, extraToml: limitsToml() }));
  for (const [name, localAllowance] of [
    [LIMITS_TARGETS[1], undefined],
    [LIMITS_TARGETS[2], 1000],
  ] as const) {
    all.push({
      ...gateway(name, { workers: 1, placement: PROXY }),
      start: async (upstream) => {
        const redis = await startBenchRedis(PROXY);
        const extraToml = limitsToml(redis.url, localAllowance);
        const started = await gateway(name, { workers: 1, placement: PROXY, extraToml }).start(upstream);
        return (
          started && {
            ...started,
            stop: async () => {
              await started.stop();
              await redis.stop();
            },
          }
        );
      },
    });
  }
  // The decision log's cost (file sink) and the query cost accounting's (bench/observed-targets.ts).
  const decisions = gateway(DECISIONS_TARGET, { workers: 1, placement: PROXY });
  all.push({
    ...decisions,
    start: (upstream) =>
      withTempDir((dir) => gateway(DECISIONS_TARGET, { workers: 1, placement: PROXY, extraToml: decisionLogToml(dir) }).start(upstream)),
  });
  all.push({
    ...gateway(QUERY_COST_TARGET, { workers: 1, placement: PROXY, extraToml: queryCostToml() }),
    scenarios: READ_SCENARIOS.filter((s) => s !== '100KB'),
    request: either(LIMITED_TOKEN, LIMITED_TOKEN, PROMQL_HOST),
  });
  if (flags['heap-ab']) all.push(gateway('scopegate heap=tuned', { workers: 1, placement: PROXY, env: { SCOPEGATE_MALLOC_TUNING: 'on' } }));
  // The baseline gets this checkout's start-up settings (no glibc heap setting, the young-generation cap), so the
  // two differ by their code only. It runs the reads with the raw token (as `scopegate`) and the writes with the
  // limited one (as `scopegate limited`).
  if (flags.baseline)
    all.push({
      ...gateway('scopegate baseline', {
        workers: 1,
        placement: PROXY,
        checkout: flags.baseline,
        env: { SCOPEGATE_MALLOC_TUNING: 'off', NODE_OPTIONS: SEMI_SPACE_FLAG },
      }),
      scenarios: SCENARIOS,
      request: either(TOKEN, LIMITED_TOKEN),
    });
  const nodeOptions = flags['node-options'];
  if (nodeOptions) all.push(gateway(`scopegate +${nodeOptions}`, { workers: 1, placement: PROXY, env: { NODE_OPTIONS: nodeOptions } }));
  if (workers > 1) all.push(gateway(`scopegate ×${workers}`, { workers, placement: {} }));
  // The shared-process targets need the `scopegate` process, even when its own rows are not wanted.
  const needsGateway = [...SHARED_GATEWAY].some((name) => wanted(flags.targets, name));
  return all.filter((t) => {
    if (t.name === 'scopegate' && needsGateway) return true;
    if (!wanted(flags.targets, t.name) && !/^scopegate (heap|baseline|×|\+)/.test(t.name)) return false;
    if (t.name === 'nginx' && !hasCommand('nginx')) return skip(t.name, 'nginx is not installed (Debian: nginx-light)');
    if ((t.name === LIMITS_TARGETS[1] || t.name === LIMITS_TARGETS[2]) && !hasCommand('redis-server'))
      return skip(t.name, 'redis-server is not installed (Debian: redis-server)');
    if (t.name === 'go' && goBinary === undefined) return skip(t.name, 'go is not installed (Debian: golang-go)');
    return true;
  });
}

function skip(name: string, why: string): false {
  log(`  skipping ${name}: ${why}`);
  return false;
}

interface Cell extends WrkResult {
  readonly round: number;
  readonly scenario: Scenario;
  readonly target: string;
  /** CPU of the proxy's processes per request, in µs, and their minor page faults per request. */
  readonly cpuUsPerRequest?: number;
  readonly minorFaultsPerRequest?: number;
  readonly rssMiB?: number;
  /** Connections the upstream accepted during the measured run. */
  readonly upstreamConnections: number;
}

const log = (line: string) => {
  if (!flags.json) process.stderr.write(`${line}\n`);
};

/** The upstream's count of accepted connections; asked on a connection of its own (counted, subtracted). */
function upstreamConnections(upstream: BenchProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${upstream.origin}${CONNECTIONS_PATH}`, { agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve(Number(text)));
    }).once('error', reject);
  });
}

/** wrk with the run's connections and placement, sending `shape` to `origin`: call it with the seconds to run. */
async function loadFor(dir: string, name: string, shape: WrkRequest, origin: string): Promise<(seconds: number) => Promise<WrkResult>> {
  const script = await writeWrkScript(dir, name.replace(/\W/g, '-'), shape);
  return (seconds) =>
    runWrk({ origin, path: shape.path, script, connections, durationS: seconds, ...(LOAD.cpu === undefined ? {} : { cpu: LOAD.cpu }) });
}

async function measureCell(
  dir: string,
  round: number,
  scenario: Scenario,
  target: Target,
  origin: string,
  pid: number | undefined,
  upstream: BenchProcess,
): Promise<Cell> {
  const wrk = await loadFor(dir, `${target.name}-${scenario}`, target.request(scenario), origin);
  if (warmupS > 0) await wrk(warmupS);
  const connectionsBefore = await upstreamConnections(upstream);
  const before = pid === undefined ? undefined : readProcessTree(pid);
  const result = await wrk(durationS);
  const after = pid === undefined ? undefined : readProcessTree(pid);
  const opened = (await upstreamConnections(upstream)) - connectionsBefore - 1; // minus our own query
  const perRequest = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || result.requests === 0 ? undefined : (b - a) / result.requests;
  const cpuMs = perRequest(before?.cpuMs, after?.cpuMs);
  const faults = perRequest(before?.minorFaults, after?.minorFaults);
  return {
    round,
    scenario,
    target: target.name,
    ...result,
    ...(cpuMs === undefined ? {} : { cpuUsPerRequest: cpuMs * 1000 }),
    ...(faults === undefined ? {} : { minorFaultsPerRequest: faults }),
    ...(after ? { rssMiB: after.rssMiB } : {}),
    upstreamConnections: opened,
  };
}

const median = (values: readonly number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

interface Row {
  readonly scenario: Scenario;
  readonly target: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Per-round ratios to the Go peer (same scenario, same round): median, min, max. */
  readonly rpsVsGo?: readonly [number, number, number];
  readonly p99VsGo?: number;
  readonly cpuUsPerRequest?: number;
  readonly minorFaultsPerRequest?: number;
  readonly rssMiB?: number;
  readonly upstreamConnections: number;
}

function summarise(cells: readonly Cell[]): Row[] {
  const rows: Row[] = [];
  const keys = [...new Set(cells.map((c) => `${c.scenario}\t${c.target}`))];
  for (const key of keys) {
    const [scenario, target] = key.split('\t') as [Scenario, string];
    const mine = cells.filter((c) => c.scenario === scenario && c.target === target);
    const goOf = (round: number) => cells.find((c) => c.scenario === scenario && c.target === 'go' && c.round === round);
    const rpsRatios = mine.map((c) => c.requestsPerSecond / (goOf(c.round)?.requestsPerSecond ?? Number.NaN)).filter(Number.isFinite);
    const p99Ratios = mine.map((c) => c.p99Ms / (goOf(c.round)?.p99Ms ?? Number.NaN)).filter(Number.isFinite);
    const pick = (f: (c: Cell) => number | undefined) => median(mine.map(f).filter((v): v is number => v !== undefined));
    rows.push({
      scenario,
      target,
      requestsPerSecond: pick((c) => c.requestsPerSecond),
      p50Ms: pick((c) => c.p50Ms),
      p99Ms: pick((c) => c.p99Ms),
      errors: mine.reduce((sum, c) => sum + c.errors, 0),
      ...(rpsRatios.length ? { rpsVsGo: [median(rpsRatios), Math.min(...rpsRatios), Math.max(...rpsRatios)] as const } : {}),
      ...(p99Ratios.length ? { p99VsGo: median(p99Ratios) } : {}),
      ...(mine.some((c) => c.cpuUsPerRequest !== undefined) ? { cpuUsPerRequest: pick((c) => c.cpuUsPerRequest) } : {}),
      ...(mine.some((c) => c.minorFaultsPerRequest !== undefined) ? { minorFaultsPerRequest: pick((c) => c.minorFaultsPerRequest) } : {}),
      ...(mine.some((c) => c.rssMiB !== undefined) ? { rssMiB: Math.max(...mine.map((c) => c.rssMiB ?? 0)) } : {}),
      upstreamConnections: mine.reduce((sum, c) => sum + c.upstreamConnections, 0),
    });
  }
  return rows;
}

function format(rows: readonly Row[]): string {
  const header = [
    'scenario',
    'target',
    'req/s',
    'rps ×go (min–max)',
    'p50 ms',
    'p99 ms',
    'p99 ×go',
    'CPU µs/req',
    'minflt/req',
    'RSS MiB',
    'upstream conns',
    'errors',
  ];
  const fixed = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));
  const lines = rows.map((r) => [
    r.scenario,
    r.target,
    fixed(r.requestsPerSecond, 0),
    r.rpsVsGo ? `${r.rpsVsGo[0].toFixed(2)} (${r.rpsVsGo[1].toFixed(2)}–${r.rpsVsGo[2].toFixed(2)})` : '',
    fixed(r.p50Ms, 2),
    fixed(r.p99Ms, 2),
    fixed(r.p99VsGo, 2),
    fixed(r.cpuUsPerRequest, 0),
    fixed(r.minorFaultsPerRequest, 2),
    fixed(r.rssMiB, 0),
    String(r.upstreamConnections),
    String(r.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  return [header, ...lines]
    .map((l) => l.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  '))
    .join('\n');
}

interface WriteRow {
  readonly scenario: WriteScenario;
  readonly target: string;
  readonly seriesPerSecond: number;
  readonly mbPerSecond: number;
  readonly cpuUsPerRequest: number | undefined;
  readonly p99Ms: number;
  readonly rssMiB: number | undefined;
  readonly rpsVsGo: number | undefined;
  readonly errors: number;
}

/** The write rows with their series/s and request-body MB/s (series: Loki streams, OTLP resource spans). */
function summariseWrites(rows: readonly Row[], bodies: Readonly<Record<WriteScenario, WriteBody>>): WriteRow[] {
  return rows
    .filter((r) => isWrite(r.scenario))
    .map((r) => {
      const body = bodies[r.scenario as WriteScenario];
      return {
        scenario: r.scenario as WriteScenario,
        target: r.target,
        seriesPerSecond: r.requestsPerSecond * body.series,
        mbPerSecond: (r.requestsPerSecond * body.bytes) / 1e6,
        cpuUsPerRequest: r.cpuUsPerRequest,
        p99Ms: r.p99Ms,
        rssMiB: r.rssMiB,
        rpsVsGo: r.rpsVsGo?.[0],
        errors: r.errors,
      };
    });
}

function formatWrites(rows: readonly WriteRow[]): string {
  const header = ['write', 'target', 'series/s', 'body MB/s', 'CPU µs/req', 'p99 ms', 'RSS MiB', '×go', 'errors'];
  const fixed = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));
  const lines = rows.map((r) => [
    r.scenario,
    r.target,
    fixed(r.seriesPerSecond, 0),
    fixed(r.mbPerSecond, 1),
    fixed(r.cpuUsPerRequest, 0),
    fixed(r.p99Ms, 2),
    fixed(r.rssMiB, 0),
    fixed(r.rpsVsGo, 2),
    String(r.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  return [header, ...lines]
    .map((l) => l.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  '))
    .join('\n');
}

function formatWriteEnforce(rows: readonly WriteEnforceRow[]): string {
  const lines = rows.map(
    (r) =>
      `  ${r.name.padEnd(52)} ${r.cpuMicrosPerRequest.toFixed(0).padStart(7)} µs CPU/req  ${(r.seriesPerSecond / 1e6).toFixed(2)} M series/s  ${r.decodedMBPerSecond.toFixed(0)} MB/s decoded`,
  );
  return ['Write enforcers in process (one core, CPU time, median of 3 interleaved rounds)', ...lines].join('\n');
}

const soakS = Number(flags.soak);
const SOAK_SLICE_S = 30;

interface SoakSlice {
  readonly endS: number;
  readonly requestsPerSecond: number;
  readonly cpuUsPerRequest: number | undefined;
  readonly rssMiB: number | undefined;
}

/** `--soak`: the scopegate process under the small GET for `soakS` seconds, one RSS reading per 30 s slice. */
async function soak(dir: string, gateway: BenchProcess): Promise<SoakSlice[]> {
  const wrk = await loadFor(dir, 'soak', request('small', TOKEN), gateway.origin);
  const slices: SoakSlice[] = [];
  log(`  soak: scopegate, small GET, ${soakS} s`);
  for (let endS = SOAK_SLICE_S; endS <= soakS; endS += SOAK_SLICE_S) {
    const before = readProcessTree(gateway.pid);
    const result = await wrk(SOAK_SLICE_S);
    const after = readProcessTree(gateway.pid);
    const cpuUs = before && after && result.requests > 0 ? ((after.cpuMs - before.cpuMs) * 1000) / result.requests : undefined;
    slices.push({ endS, requestsPerSecond: result.requestsPerSecond, cpuUsPerRequest: cpuUs, rssMiB: after?.rssMiB });
    log(`  soak ${endS} s: ${result.requestsPerSecond.toFixed(0)} req/s, ${cpuUs?.toFixed(0)} µs/req, RSS ${after?.rssMiB.toFixed(0)} MiB`);
  }
  return slices;
}

function formatSoak(slices: readonly SoakSlice[]): string {
  const lines = slices.map(
    (s) =>
      `${String(s.endS).padStart(6)} s  ${s.requestsPerSecond.toFixed(0).padStart(7)} req/s  ${(s.cpuUsPerRequest?.toFixed(0) ?? '').padStart(5)} µs/req  RSS ${(s.rssMiB?.toFixed(0) ?? '').padStart(5)} MiB`,
  );
  // Growth is read after the first two minutes: the young generation and the heaps grow to their working size first.
  const settled = slices.filter((s) => s.endS > 120 && s.rssMiB !== undefined).map((s) => s.rssMiB as number);
  const growth =
    settled.length >= 2
      ? `RSS after the first 2 minutes: ${(settled[0] as number).toFixed(0)} MiB, at the end ${(settled.at(-1) as number).toFixed(0)} MiB, lowest ${Math.min(...settled).toFixed(0)}, highest ${Math.max(...settled).toFixed(0)}`
      : '';
  return [
    `Soak: scopegate under the small GET, ${slices.length * SOAK_SLICE_S} s, one reading per ${SOAK_SLICE_S} s`,
    ...lines,
    growth,
  ].join('\n');
}

/**
 * The `scopegate decisions` and `scopegate query cost` rows, measured one target after the other, move with the
 * host by more than these features cost: their price is measured again with both gateways loaded at once.
 */
async function observedCosts(): Promise<ObservedCost[]> {
  const observedRounds = Number(flags['observed-rounds']);
  if (observedRounds <= 0 || !SCENARIOS.includes('small')) return [];
  const features: ObservedFeature[] = [];
  if (wanted(flags.targets, DECISIONS_TARGET)) features.push('decisions', 'decisions promql');
  if (wanted(flags.targets, QUERY_COST_TARGET)) features.push('query-cost');
  const results: ObservedCost[] = [];
  for (const feature of features) {
    log(`  ${feature}: both gateways loaded at once, ${observedRounds} rounds of 3 s`);
    results.push(await measureObservedCost({ feature, rounds: observedRounds, durationS: 3, connections: 16, pinned, log }));
  }
  return results;
}

async function main(): Promise<void> {
  if (!hasCommand('wrk')) throw new Error('the bench needs wrk (Debian: apt-get install wrk); nginx-light and golang-go add their rows');
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-bench-run-'));
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  log(
    `scopegate bench: node ${process.version}, ${availableParallelism()} cores (${cpuModel}); ${pinned ? 'wrk on cpu0, upstream and proxies on cpu1' : 'unpinned'}`,
  );
  log(`  ${rounds} rounds × ${SCENARIOS.join(', ')}; each cell ${warmupS}s warm-up + ${durationS}s, ${connections} connections`);
  const goBinary = hasCommand('go') && wanted(flags.targets, 'go') ? buildGoPeer(dir) : undefined;
  const upstream = await startUpstream(PROXY);
  const started: { target: Target; process: BenchProcess | undefined }[] = [];
  const cells: Cell[] = [];
  let soakRows: SoakSlice[] = [];
  let writeBodies: Record<WriteScenario, WriteBody> | undefined;
  try {
    writeBodies = await writeScenarioBodies(dir);
    const list = targets(goBinary, writeBodies);
    for (const target of list) started.push({ target, process: await target.start(upstream) });
    const gateway = started.find((s) => s.target.name === 'scopegate')?.process;
    const processOf = (s: (typeof started)[number]) => (SHARED_GATEWAY.has(s.target.name) ? gateway : s.process);
    // A Node process compiles its hot path on background threads that share the proxy's core: the first
    // seconds under load are slower and make the tail. Every proxy gets the same steady state before the rounds.
    if (initialWarmupS > 0) {
      log(`  initial warm-up: ${initialWarmupS} s per proxy`);
      for (const entry of started) {
        const proc = processOf(entry);
        if (proc === undefined) continue;
        for (const scenario of entry.target.scenarios) {
          const wrk = await loadFor(dir, `warm-${entry.target.name}-${scenario}`, entry.target.request(scenario), proc.origin);
          await wrk(Math.max(1, Math.round(initialWarmupS / entry.target.scenarios.length)));
        }
      }
    }
    for (let round = 1; round <= rounds; round += 1) {
      for (const scenario of SCENARIOS) {
        // Rotate the order each round, so no proxy always runs right after the same neighbour.
        const order = started.map((_, i) => started[(i + round - 1) % started.length] as (typeof started)[number]);
        for (const entry of order) {
          if (!entry.target.scenarios.includes(scenario)) continue;
          const proc = processOf(entry);
          const origin = proc?.origin ?? upstream.origin;
          const cell = await measureCell(dir, round, scenario, entry.target, origin, proc?.pid, upstream);
          log(
            `  round ${round} ${scenario} ${entry.target.name}: ${cell.requestsPerSecond.toFixed(0)} req/s, p99 ${cell.p99Ms.toFixed(2)} ms${cell.cpuUsPerRequest === undefined ? '' : `, ${cell.cpuUsPerRequest.toFixed(0)} µs/req, ${cell.minorFaultsPerRequest?.toFixed(2)} minflt/req`}`,
          );
          cells.push(cell);
        }
      }
    }
    if (gateway && soakS > 0) soakRows = await soak(dir, gateway);
  } finally {
    for (const { process: proc } of started.reverse()) await proc?.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const rows = summarise(cells);
  const observed = await observedCosts();
  log('  PromQL enforcement (in process, no sockets)');
  const promqlEnforce = runPromqlEnforceBench({ seconds: Math.min(durationS, 2) });
  let writeEnforce: WriteEnforceRow[] = [];
  if (WRITES.length > 0) {
    log('  write enforcers (in process, CPU time, no sockets)');
    writeEnforce = await runWriteEnforceBench(3);
  }
  const writeRows = writeBodies ? summariseWrites(rows, writeBodies) : [];
  if (flags.json) {
    const report = {
      node: process.version,
      cores: availableParallelism(),
      cpu: cpuModel,
      pinned,
      connections,
      durationS,
      warmupS,
      rounds,
      rows,
      cells,
      writeRows,
      writeEnforce,
      promqlEnforce,
      observed,
      soak: soakRows,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const writesText = writeRows.length ? `\n${formatWrites(writeRows)}\n\n${formatWriteEnforce(writeEnforce)}\n` : '';
    process.stdout.write(
      `${format(rows)}\n${writesText}\n${observed.length ? `${formatObservedCost(observed)}\n\n` : ''}${formatEnforceBench(promqlEnforce)}\n${soakRows.length ? `\n${formatSoak(soakRows)}\n` : ''}`,
    );
  }
}

await main();
