import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BIG_PATH, FORM_BODY, FORM_PATH, PROMQL_PATH } from './bodies.js';
import { buildGoPeer, startGoPeer } from './peers.js';
import { readProcessTree } from './proc-stat.js';
import { ROOT, startGateway, startUpstream, type BenchProcess } from './processes.js';
import { runWrk, writeWrkScript } from './wrk.js';

/**
 * The read path's memory and tail, variant against variant in one run (docs/performance.md, "The read path: where
 * the tail comes from"): every variant is a `scopegate serve` with its own environment and node flags, loaded in
 * turn (rounds interleaved, order rotated) with small GETs by wrk on cpu0, gateways and upstream on cpu1. Per
 * cell: req/s, p99 (wrk), CPU µs/req, RSS and its parts (/proc/PID/smaps_rollup, process.memoryUsage()), event-loop
 * delay and GC pauses by kind (bench/probe-preload.mjs, read over SIGUSR2).
 *
 *   node --import tsx bench/read-path-probe.ts --rounds 3 --duration 8 \
 *     --variant 'tuned=' --variant 'glibc=SCOPEGATE_MALLOC_TUNING=off' --variant 'semi8=NODE_OPTIONS=--max-semi-space-size=8'
 *
 * A variant is `name=VAR=value,VAR=value` (an empty list: the defaults); `NODE_ARGS=--a --b` are node flags.
 */
const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '1' },
    'initial-warmup': { type: 'string', default: '6' },
    connections: { type: 'string', default: '32' },
    /** small (GET, 67-byte answer), form (2 KB POST) or 100KB. */
    path: { type: 'string', default: 'small' },
    variant: { type: 'string', multiple: true, default: ['default='] },
    json: { type: 'string' },
    /** Also the Go peer (bench/go-peer), as variant `go`: p99 and CPU ratios in the same rounds. */
    go: { type: 'boolean', default: false },
  },
});

const TOKEN = 'bench-token-0123456789';
const path = flags.path === '100KB' ? BIG_PATH : flags.path === 'form' ? FORM_PATH : PROMQL_PATH;

function parseVariant(text: string): { name: string; env: Record<string, string> } {
  const [name, ...rest] = text.split('=');
  const list = rest.join('=');
  const env: Record<string, string> = {};
  for (const pair of list ? list.split(',') : []) {
    const at = pair.indexOf('=');
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { name: name as string, env };
}

function smaps(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  // [heap] (glibc's brk heap) separately: the rest of the anonymous memory is V8's heap, glibc's mmapped arenas, stacks.
  let brkHeap = 0;
  const full = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const heapAt = full.indexOf('[heap]');
  if (heapAt >= 0) brkHeap = Number(/Rss:\s+(\d+) kB/.exec(full.slice(heapAt))?.[1] ?? 0);
  return {
    rss: Math.round(kib('Rss') / 1024),
    anon: Math.round(kib('Anonymous') / 1024),
    file: Math.round((kib('Rss') - kib('Anonymous')) / 1024),
    brkHeap: Math.round(brkHeap / 1024),
  };
}

async function probe(pid: number, out: string | undefined): Promise<Record<string, unknown>> {
  if (out === undefined) return {};
  const before = readFileSync(out, 'utf8').length;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i += 1) {
    const text = readFileSync(out, 'utf8');
    if (text.length > before) return JSON.parse(text.slice(before).trim().split('\n').at(-1) as string);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {};
}

const dir = await mkdtemp(join(tmpdir(), 'read-path-probe-'));
const upstream = await startUpstream({ cpu: 1 });
const variants: { name: string; gateway: BenchProcess; out: string | undefined }[] = [];
const rows: Record<string, unknown>[] = [];
try {
  for (const variant of flags.variant.map(parseVariant)) {
    const out = join(dir, `${variant.name}.jsonl`);
    writeFileSync(out, '');
    const gateway = await startGateway({
      cpu: 1,
      upstreamOrigin: upstream.origin,
      workers: 1,
      token: TOKEN,
      limitedToken: `${TOKEN}-limited`,
      nodeArgs: ['--import', join(ROOT, 'bench/probe-preload.mjs'), ...(variant.env.NODE_ARGS?.split(' ') ?? [])],
      logLevel: 'info',
      env: { SCOPEGATE_MALLOC_TUNING: undefined, ...variant.env, PROBE_OUT: out },
    });
    variants.push({ name: variant.name, gateway, out });
  }
  if (flags.go) {
    const peer = await startGoPeer({ cpu: 1 }, buildGoPeer(dir), upstream.origin, { [TOKEN]: 'bench' });
    variants.unshift({ name: 'go', gateway: peer, out: undefined });
  }
  const authorization = `Bearer ${TOKEN}`;
  const script = await writeWrkScript(
    dir,
    'load',
    flags.path === 'form'
      ? { method: 'POST', path, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: FORM_BODY }
      : { method: 'GET', path, headers: { authorization } },
  );
  const load = (origin: string, durationS: number) =>
    runWrk({ origin, path, script, connections: Number(flags.connections), durationS, cpu: 0 });
  // The first seconds under load, cold (JIT compiling the hot path), reported as round -1.
  for (const v of variants) {
    await probe(v.gateway.pid, v.out);
    const cold = await load(v.gateway.origin, Number(flags['initial-warmup']));
    const inside = await probe(v.gateway.pid, v.out);
    const row = { round: -1, variant: v.name, rps: Math.round(cold.requestsPerSecond), p99: cold.p99Ms, p50: cold.p50Ms, inside };
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  for (let round = 0; round < Number(flags.rounds); round += 1) {
    for (let i = 0; i < variants.length; i += 1) {
      const v = variants[(i + round) % variants.length] as (typeof variants)[number];
      await load(v.gateway.origin, Number(flags.warmup));
      await probe(v.gateway.pid, v.out);
      const start = readProcessTree(v.gateway.pid);
      const result = await load(v.gateway.origin, Number(flags.duration));
      const end = readProcessTree(v.gateway.pid);
      const inside = await probe(v.gateway.pid, v.out);
      const cpuUs = start && end ? Math.round(((end.cpuMs - start.cpuMs) * 1000) / result.requests) : Number.NaN;
      const minflt = start && end ? Math.round(((end.minorFaults - start.minorFaults) * 100) / result.requests) / 100 : Number.NaN;
      const row = {
        round,
        variant: v.name,
        rps: Math.round(result.requestsPerSecond),
        p99: result.p99Ms,
        p50: result.p50Ms,
        cpuUs,
        minflt,
        ...smaps(v.gateway.pid),
        inside,
      };
      rows.push(row);
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
} finally {
  for (const v of variants) await v.gateway.stop();
  await upstream.stop();
  if (flags.json) writeFileSync(flags.json, JSON.stringify(rows, null, 1));
  await rm(dir, { recursive: true, force: true });
}
