import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Dispatcher, Pool } from 'undici';
import { BackendHealth } from '../src/upstream/balancer/backend-health.js';
import type { Backend } from '../src/upstream/balancer/backend.js';
import { Registry } from 'prom-client';
import { BalancedDispatcher } from '../src/upstream/balancer/balanced-dispatcher.js';
import { createBalancerMetrics } from '../src/upstream/balancer/balancer-metrics.js';
import { RetryBudget } from '../src/upstream/balancer/retry-budget.js';
import { startTestGateway } from '../test/servers/gateway.js';
import { createTempTokenFile } from '../test/servers/temp-token-file.js';

/**
 * What the balancer adds per request (issue #22's goal: within 5% of a single upstream), without the full bench:
 *
 * 1. In process: CPU ns per dispatch through a BalancedDispatcher of two backends, against the same fake backend
 *    dispatched directly (the fake answers synchronously: only the balancer's own work is left).
 * 2. On loopback: the same gateway with a single upstream (the bare pool) and with two backends (the same
 *    upstream process twice, so only the balancer differs), ROUNDS × SECONDS each, interleaved A B A B… against
 *    a noisy machine; requests per second and mean latency from an undici Pool with CONNECTIONS loops.
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
  const handler: Dispatcher.DispatchHandler = { onRequestStart() {}, onResponseStart() {}, onResponseData() {}, onResponseEnd() {}, onResponseError() {} };
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
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return { directNs: median(direct), balancedNs: median(balanced) };
}

async function load(url: string, seconds: number): Promise<{ rps: number; meanMs: number }> {
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
  return { rps: count / seconds, meanMs: totalMs / count };
}

async function onLoopback(): Promise<void> {
  const upstream = spawn(process.execPath, ['--import', 'tsx', new URL('./upstream.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(upstream.stdout, 'data')) as [Buffer];
  const upstreamUrl = `http://127.0.0.1:${line.toString().trim()}`;
  const tokens = await createTempTokenFile({ 'tok-a': 'team-a' });
  const config = (upstream: unknown) => ({ log_level: 'warn', backend_type: 'file', file: { path: tokens.path }, proxy: { upstreams: [{ name: 'u', match: '.*', upstream }] } });
  const single = await startTestGateway(config(upstreamUrl));
  const balanced = await startTestGateway(config([upstreamUrl, upstreamUrl]));
  try {
    await load(single.url, 1);
    await load(balanced.url, 1);
    const rows: { single: { rps: number; meanMs: number }; balanced: { rps: number; meanMs: number } }[] = [];
    for (let round = 0; round < ROUNDS; round++) rows.push({ single: await load(single.url, SECONDS), balanced: await load(balanced.url, SECONDS) });
    for (const [i, r] of rows.entries()) {
      console.log(`round ${i + 1}: single ${r.single.rps.toFixed(0)} req/s ${r.single.meanMs.toFixed(3)} ms; balanced ${r.balanced.rps.toFixed(0)} req/s ${r.balanced.meanMs.toFixed(3)} ms`);
    }
    const sum = (pick: (r: (typeof rows)[number]) => number) => rows.reduce((total, r) => total + pick(r), 0);
    const ratio = sum((r) => r.balanced.rps) / sum((r) => r.single.rps);
    console.log(`loopback: balanced / single throughput = ${(ratio * 100).toFixed(1)}% (${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections)`);
  } finally {
    await single.stop();
    await balanced.stop();
    await tokens.remove();
    upstream.kill('SIGTERM');
  }
}

const { directNs, balancedNs } = inProcess();
console.log(`in process: direct ${directNs.toFixed(0)} ns/dispatch, through the balancer ${balancedNs.toFixed(0)} ns/dispatch: +${(balancedNs - directNs).toFixed(0)} ns`);
if (SECONDS > 0) await onLoopback();
