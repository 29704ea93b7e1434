// The decision log's CPU cost per small GET (issue #21: at most 10% with the file sink on), measured in the
// gateway's own process: `process.cpuUsage()` over a fixed number of proxied requests, the gateway alone in
// this process; the upstream and the load generator run in a child process, so their CPU is not counted.
// Rounds alternate off / on (file sink, fsync "interval", queries as text) to spread the machine's noise.
//   node --import tsx bench/decision-log-cost.ts [--requests 20000] [--rounds 4] [--connections 16]
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const BODY = '{"status":"success","data":{"resultType":"vector","result":[]}}';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

/** The child: an upstream, and on each `load` message that many GETs through the gateway, then `done`. */
async function runChild(): Promise<void> {
  const upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  process.send?.({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  process.on('message', async (message: { load: string; requests: number; connections: number } | { exit: true }) => {
    if ('exit' in message) {
      upstream.close();
      process.exit(0);
    }
    const agent = new Agent({ connections: message.connections, pipelining: 1 });
    let next = 0;
    const worker = async () => {
      while (next < message.requests) {
        next++;
        const res = await request(`${message.load}/api/v1/query?query=up`, {
          dispatcher: agent,
          headers: { authorization: 'Bearer bench-token' },
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: message.connections }, worker));
    await agent.close();
    process.send?.({ done: true });
  });
}

async function runParent(): Promise<void> {
  const requests = flag('requests', 20_000);
  const rounds = flag('rounds', 4);
  const connections = flag('connections', 16);
  const { parseConfig } = await import('../src/config/load.js');
  const { createApp } = await import('../src/app.js');
  type App = Awaited<ReturnType<typeof createApp>>;
  const { startGateway } = await import('../src/server/gateway-server.js');
  const { createLogger } = await import('../src/observability/logger.js');
  const { systemClock } = await import('../src/core/clock.js');
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-decision-bench-'));
  const tokens = join(dir, 'tokens.json');
  await writeFile(tokens, JSON.stringify({ 'bench-token': { name: 'bench', tenant: 'bench', namespaces: ['bench'] } }));
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['child'], { execArgv: ['--import', 'tsx'] });
  const upstream = await new Promise<string>((resolve) => child.once('message', (m: { upstream: string }) => resolve(m.upstream)));
  const logger = createLogger({ level: 'warn' });

  const measure = async (mode: 'off' | 'on', round: number): Promise<number> => {
    const config = parseConfig({
      log_level: 'warn',
      backend_type: 'file',
      file: { path: tokens, watch: false },
      proxy: { listen: '127.0.0.1:0', upstreams: [{ name: 'prom', match: '.*', upstream, type: 'prometheus' }] },
      admin: { listen: '127.0.0.1:0' },
      ...(mode === 'on' ? { decision_log: { sink: 'file', path: join(dir, `decisions-${round}.jsonl`), fsync: 'interval' } } : {}),
    });
    const server = await startGateway(config, {
      logger,
      createApp: (c, previous: App | undefined) => createApp(c, { logger, clock: systemClock, collectProcessMetrics: false, previous }),
    });
    const url = `http://127.0.0.1:${server.proxyAddress.port}`;
    const load = (n: number) =>
      new Promise<void>((resolve) => {
        child.once('message', () => resolve());
        child.send({ load: url, requests: n, connections });
      });
    await load(2_000); // warm-up: JIT, pools, the file opened
    const before = process.cpuUsage();
    await load(requests);
    const used = process.cpuUsage(before);
    await server.shutdown();
    return (used.user + used.system) / requests;
  };

  const results: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const perRequest = await measure(mode, round);
      results[mode].push(perRequest);
      process.stderr.write(`round ${round + 1} ${mode}: ${perRequest.toFixed(1)} µs CPU per request\n`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const off = median(results.off);
  const on = median(results.on);
  process.stdout.write(
    `${JSON.stringify({ requests, rounds, connections, offMicrosPerRequest: off, onMicrosPerRequest: on, costPercent: ((on - off) / off) * 100 })}\n`,
  );
  child.send({ exit: true });
  await rm(dir, { recursive: true, force: true });
}

if (process.argv[2] === 'child') await runChild();
else await runParent();
