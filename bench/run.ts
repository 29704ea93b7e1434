import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { BIG_BODY, BIG_PATH, PROMQL_HOST, PROMQL_PATH, SMALL_BODY, SMALL_PATH } from './bodies.js';
import { runLoad, type LoadResult } from './load.js';
import { processTreeCpuMs } from './process-cpu.js';
import { formatEnforceBench, runPromqlEnforceBench } from './promql-enforce.js';
import { startGateway, startUpstream, type BenchProcess } from './processes.js';

/**
 * `npm run bench`: the gateway against a direct connection to the same upstream, in one run.
 * Upstream and gateway are separate processes; the load generator runs here. See bench/README.md.
 */
const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '64' },
    workers: { type: 'string', default: '2' },
    /** Comma-separated subset of the rows: small,100KB,promql. */
    bodies: { type: 'string', default: 'small,100KB,promql' },
    'log-level': { type: 'string', default: 'info' },
    /** Write a V8 CPU profile of the single-process gateway into this directory. */
    'cpu-prof': { type: 'string' },
  },
});

const TOKEN = 'bench-token-0123456789';
const LIMITED_TOKEN = 'bench-token-team-a-0123456789';
const durationMs = Number(flags.duration) * 1000;
const warmupMs = Number(flags.warmup) * 1000;
const connections = Number(flags.connections);
const clusterWorkers = Number(flags.workers);

const bearer = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({ authorization: `Bearer ${token}`, ...extra });

const BODIES = [
  { body: 'small', path: SMALL_PATH, bytes: SMALL_BODY.length, headers: bearer(TOKEN) },
  { body: '100KB', path: BIG_PATH, bytes: BIG_BODY.length, headers: bearer(TOKEN) },
  // Same small answer, through PromQL enforcement (parse, rewrite, rebuilt URL) for a one-namespace identity.
  { body: 'promql', path: PROMQL_PATH, bytes: SMALL_BODY.length, headers: bearer(LIMITED_TOKEN, { host: PROMQL_HOST }) },
].filter(({ body }) => flags.bodies.split(',').includes(body));

interface Row extends LoadResult {
  readonly body: string;
  readonly target: string;
  /** Gateway CPU (all its processes) per request, in µs; the direct rows have none. */
  readonly gatewayCpuUsPerRequest?: number;
  readonly upstreamCpuUsPerRequest?: number;
}

const log = (line: string) => {
  if (!flags.json) process.stderr.write(`${line}\n`);
};

async function measure(target: string, origin: string, gatewayPid: number | undefined, upstreamPid: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const { body, path, bytes, headers } of BODIES) {
    log(`  ${target} ${body}: ${warmupMs / 1000}s warm-up + ${durationMs / 1000}s at ${connections} connections`);
    const cpuBefore = [gatewayPid === undefined ? undefined : processTreeCpuMs(gatewayPid), processTreeCpuMs(upstreamPid)];
    const result = await runLoad({ origin, path, headers, connections, warmupMs, durationMs, expectBytes: bytes });
    const cpuAfter = [gatewayPid === undefined ? undefined : processTreeCpuMs(gatewayPid), processTreeCpuMs(upstreamPid)];
    // CPU is counted over warm-up and measurement, so divide by every request sent in that time (approximately).
    const sent = result.requests * ((warmupMs + durationMs) / durationMs);
    const perRequest = (i: number) => {
      const before = cpuBefore[i];
      const after = cpuAfter[i];
      return before === undefined || after === undefined || sent === 0 ? undefined : ((after - before) * 1000) / sent;
    };
    rows.push({
      body,
      target,
      ...result,
      ...(gatewayPid !== undefined ? { gatewayCpuUsPerRequest: perRequest(0) } : {}),
      upstreamCpuUsPerRequest: perRequest(1),
    });
  }
  return rows;
}

async function withGateway(upstream: BenchProcess, workers: number, run: (gateway: BenchProcess) => Promise<Row[]>): Promise<Row[]> {
  const nodeArgs: string[] = [];
  if (flags['cpu-prof'] && workers === 1) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']);
  const gateway = await startGateway({ upstreamOrigin: upstream.origin, workers, token: TOKEN, limitedToken: LIMITED_TOKEN, nodeArgs, logLevel: flags['log-level'] });
  try {
    return await run(gateway);
  } finally {
    await gateway.stop();
  }
}

function format(rows: readonly Row[]): string {
  const direct = new Map(rows.filter((r) => r.target === 'direct').map((r) => [r.body, r]));
  const header = ['body', 'target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'rps ×direct', 'p99 ×direct', 'gw CPU µs/req'];
  const lines = rows.map((r) => {
    const base = direct.get(r.body);
    const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : '');
    return [
      r.body,
      r.target,
      r.requestsPerSecond.toFixed(0),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      String(r.errors),
      r.target === 'direct' ? '1.00' : ratio(r.requestsPerSecond, base?.requestsPerSecond),
      r.target === 'direct' ? '1.00' : ratio(r.p99Ms, base?.p99Ms),
      r.gatewayCpuUsPerRequest === undefined ? '' : r.gatewayCpuUsPerRequest.toFixed(0),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  return [header, ...lines].map((l) => l.map((cell, i) => cell.padStart(widths[i] as number)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  log(`scopegate bench: node ${process.version}, ${availableParallelism()} cores shared by load generator, upstream and gateway`);
  const upstream = await startUpstream();
  const rows: Row[] = [];
  try {
    rows.push(...(await measure('direct', upstream.origin, undefined, upstream.pid)));
    rows.push(...(await withGateway(upstream, 1, (g) => measure('gateway', g.origin, g.pid, upstream.pid))));
    if (clusterWorkers > 1) {
      const target = `gateway ×${clusterWorkers}`;
      rows.push(...(await withGateway(upstream, clusterWorkers, (g) => measure(target, g.origin, g.pid, upstream.pid))));
    }
  } finally {
    await upstream.stop();
  }
  log('  PromQL enforcement (in process, no sockets)');
  const promqlEnforce = runPromqlEnforceBench({ seconds: durationMs / 1000 });
  if (flags.json) {
    const report = { node: process.version, cores: availableParallelism(), connections, durationMs, warmupMs, rows, promqlEnforce };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${format(rows)}\n\n${formatEnforceBench(promqlEnforce)}\n`);
  }
}

await main();
