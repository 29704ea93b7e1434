import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dispatcher, Pool } from 'undici';
import { BackendHealth } from '../src/upstream/balancer/backend-health.js';
import type { Backend } from '../src/upstream/balancer/backend.js';
import { Registry } from 'prom-client';
import { BalancedDispatcher } from '../src/upstream/balancer/balanced-dispatcher.js';
import { createBalancerMetrics } from '../src/upstream/balancer/balancer-metrics.js';
import { RetryBudget } from '../src/upstream/balancer/retry-budget.js';
import { readProcessTree } from './proc-stat.js';
import { freePort, ROOT, startPortPrinter, stopChild, waitUntilReady, type BenchProcess } from './processes.js';
import { median } from './cpu-median.js';

/**
 * What the balancer adds per request (issue #22's goal: within 5% of a single upstream), without the full bench:
 *
 * 1. In process: CPU ns per dispatch through a BalancedDispatcher of two backends, against the same fake backend
 *    dispatched directly (the fake answers synchronously: only the balancer's own work is left).
 * 2. On loopback: `scopegate serve` with a single upstream (the bare pool) and with two backends (the same
 *    upstream process twice, so only the balancer differs), ROUNDS × SECONDS each, interleaved A B A B…: the
 *    gateway process's CPU per request (from /proc, as the bench reports it: little disturbed by a busy
 *    machine), requests per second and mean latency from an undici Pool with CONNECTIONS loops.
 *
 * `node --import tsx bench/balancer-overhead.ts [seconds] [rounds]` (seconds 0: the in-process part only)
 */
const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONNECTIONS = 16;

class FakeBackend extends Dispatcher {
  override dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, {}, 'OK');
    handler.onResponseData?.(controller, Buffer.from('{}'));
    handler.onResponseEnd?.(controller, {});
    return true;
  }
  override close(): Promise<void> {
    return Promise.resolve();
  }
  override destroy(): Promise<void> {
    return Promise.resolve();
  }
}

function inProcess(): { directNs: number; balancedNs: number } {
  const fake = new FakeBackend();
  const backend = (key: string): Backend => ({
    key,
    weight: 1,
    dispatcher: fake,
    health: new BackendHealth({ backoffMs: 1000, maxBackoffMs: 1000, probeWithRequests: true }),
    inFlight: 0,
    currentWeight: 0,
    draining: false,
    close: () => Promise.resolve(),
  });
  const balancer = new BalancedDispatcher(
    {
      upstream: 'bench',
      policy: 'round_robin',
      hashOn: 'tenant',
      tenantHeader: 'x-scope-orgid',
      maxRetries: 1,
      retryWrites: false,
      timeoutMs: 30_000,
      retryStatusCodes: new Set([502, 503]),
      unhealthyStatusCodes: new Set(),
      budget: new RetryBudget({ ratio: 0.2 }),
      clock: { now: () => Date.now() },
      metrics: createBalancerMetrics(new Registry()),
    },
    [backend('a'), backend('b')],
  ).compose((dispatch) => dispatch);
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart() {},
    onResponseData() {},
    onResponseEnd() {},
    onResponseError() {},
  };
  const opts: Dispatcher.DispatchOptions = { method: 'GET', path: '/api/v1/query?query=up', headers: { 'x-scope-orgid': 't' } };
  // CPU time of this process (user + system), less disturbed than wall time by other processes on the machine.
  const time = (target: Dispatcher, n: number) => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) target.dispatch(opts, handler);
    const used = process.cpuUsage(start);
    return ((used.user + used.system) * 1000) / n;
  };
  time(fake, 100_000);
  time(balancer, 100_000);
  const direct: number[] = [];
  const balanced: number[] = [];
  for (let round = 0; round < 9; round++) {
    direct.push(time(fake, 200_000));
    balanced.push(time(balancer, 200_000));
  }
  return { directNs: median(direct), balancedNs: median(balanced) };
}

async function load(url: string, seconds: number): Promise<{ count: number; meanMs: number }> {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  let totalMs = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      const res = await pool.request({ method: 'GET', path: '/api/v1/labels', headers: { authorization: 'Bearer tok-a' } });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      totalMs += performance.now() - start;
      count += 1;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  await pool.close();
  return { count, meanMs: totalMs / count };
}

/** `scopegate serve` (bin/scopegate.js: the build, or the sources through tsx) with one raw upstream. */
async function startServe(upstreamToml: string): Promise<BenchProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-balancer-bench-'));
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const configPath = join(dir, 'scopegate.toml');
  await writeFile(
    configPath,
    [
      'log_level = "warn"',
      'backend_type = "env"',
      '[proxy]',
      `listen = "127.0.0.1:${proxyPort}"`,
      '[[proxy.upstreams]]',
      'name = "u"',
      'match = ".*"',
      upstreamToml,
      '[admin]',
      `listen = "127.0.0.1:${adminPort}"`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [join(ROOT, 'bin/scopegate.js'), 'serve', '--config', configPath], {
    cwd: ROOT,
    env: { ...process.env, SCOPEGATE_TOKENS: JSON.stringify({ 'tok-a': { tenant: 'bench', name: 'bench' } }) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitUntilReady(`http://127.0.0.1:${adminPort}/ready`, child);
  return {
    pid: child.pid as number,
    origin: `http://127.0.0.1:${proxyPort}`,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** CPU µs per request of the gateway process (the kernel's count: little disturbed by other processes) and mean latency. */
async function measure(gateway: BenchProcess, seconds: number): Promise<{ cpuUsPerRequest: number; meanMs: number; rps: number }> {
  const before = readProcessTree(gateway.pid);
  const { count, meanMs } = await load(gateway.origin, seconds);
  const after = readProcessTree(gateway.pid);
  const cpuMs = before && after ? after.cpuMs - before.cpuMs : NaN;
  return { cpuUsPerRequest: (cpuMs * 1000) / count, meanMs, rps: count / seconds };
}

async function onLoopback(): Promise<void> {
  const upstream = await startPortPrinter({}, process.execPath, ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')]);
  const single = await startServe(`upstream = "${upstream.origin}"`);
  const balanced = await startServe(`upstream = ["${upstream.origin}", "${upstream.origin}"]`);
  try {
    // Warm-up (JIT) of both, long enough that the measured rounds are past compilation.
    await load(single.origin, 6);
    await load(balanced.origin, 6);
    type Row = Awaited<ReturnType<typeof measure>>;
    const rows: { single: Row; balanced: Row }[] = [];
    for (let round = 0; round < ROUNDS; round++)
      rows.push({ single: await measure(single, SECONDS), balanced: await measure(balanced, SECONDS) });
    const show = (r: Row) => `${r.cpuUsPerRequest.toFixed(1)} µs CPU/req, ${r.rps.toFixed(0)} req/s, mean ${r.meanMs.toFixed(2)} ms`;
    for (const [i, r] of rows.entries()) console.log(`round ${i + 1}: single ${show(r.single)}; balanced ${show(r.balanced)}`);
    const cpuSingle = median(rows.map((r) => r.single.cpuUsPerRequest));
    const cpuBalanced = median(rows.map((r) => r.balanced.cpuUsPerRequest));
    console.log(
      `loopback: gateway CPU per request, median of ${ROUNDS} rounds of ${SECONDS} s: single ${cpuSingle.toFixed(1)} µs, balanced ${cpuBalanced.toFixed(1)} µs (${(((cpuBalanced - cpuSingle) / cpuSingle) * 100).toFixed(1)}%)`,
    );
  } finally {
    await single.stop();
    await balanced.stop();
    await upstream.stop();
  }
}

const { directNs, balancedNs } = inProcess();
console.log(
  `in process: direct ${directNs.toFixed(0)} ns/dispatch, through the balancer ${balancedNs.toFixed(0)} ns/dispatch: +${(balancedNs - directNs).toFixed(0)} ns`,
);
if (SECONDS > 0) await onLoopback();
