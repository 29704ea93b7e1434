import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { startTestGateway, type StartedGateway } from '../test/servers/gateway.js';
import { median } from './cpu-median.js';

/**
 * The CPU query cost accounting adds per query (issue #21), measured in one process: a Prometheus-shaped
 * upstream (its `stats` member only when asked, as Prometheus does), and the same gateway config with
 * `[query_cost]` off and on (stats asked, read and removed; metrics, ledger), a token limited to one namespace
 * so every query is enforced as well. Requests go one at a time over one keep-alive connection; rounds alternate
 * off and on; process CPU (user + system) per request, median of the rounds. Everything shares the process, so
 * the difference is what accounting adds (the upstream's larger answer included).
 *
 *   node --import tsx bench/query-cost-cpu.ts [requests-per-round] [rounds]
 */
const REQUESTS = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 7);

const series = Array.from(
  { length: 10 },
  (_, i) =>
    `{"metric":{"__name__":"http_requests_total","namespace":"team-a","pod":"pod-${i}"},"values":[[1,"1"],[16,"2"],[31,"3"],[46,"4"],[61,"5"]]}`,
).join(',');
const RESULT = `{"status":"success","data":{"resultType":"matrix","result":[${series}]`;
const STATS =
  ',"stats":{"timings":{"evalTotalTime":0.000123,"resultSortTime":0,"queryPreparationTime":0.00001,"innerEvalTime":0.0001,"execQueueTime":0.000002,"execTotalTime":0.00013},"samples":{"totalQueryableSamples":50,"peakSamples":10}}';

const upstream = createServer((req, res) => {
  const body = `${RESULT}${/[?&]stats=/.test(req.url ?? '') ? STATS : ''}}}`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
process.env.BENCH_TOKEN = JSON.stringify({ 'tok-a': { tenant: 'team-a', name: 'alice', namespaces: ['team-a'] } });

async function gateway(enabled: boolean, askBackend = true): Promise<StartedGateway> {
  return startTestGateway({
    backend_type: 'env',
    env: { variable: 'BENCH_TOKEN' },
    log_level: 'warn',
    query_cost: { enabled, ask_backend: askBackend },
    proxy: { upstreams: [{ name: 'prom', match: '.*', upstream: upstreamUrl, type: 'prometheus' }] },
  });
}

// `read`: accounting on without asking for stats (metrics, ledger, bytes counted; no stats read or removed).
const gateways = { off: await gateway(false), read: await gateway(true, false), on: await gateway(true) };
const path = '/api/v1/query_range?query=rate(http_requests_total%5B5m%5D)&start=1&end=61&step=15';

async function round(target: StartedGateway): Promise<number> {
  const pool = new Pool(target.url, { connections: 1 });
  const send = async () => {
    const res = await pool.request({ method: 'GET', path, headers: { authorization: 'Bearer tok-a' } });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  };
  for (let i = 0; i < 200; i += 1) await send();
  const start = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i += 1) await send();
  const used = process.cpuUsage(start);
  await pool.close();
  return (used.user + used.system) / REQUESTS;
}

const samples: Record<'off' | 'read' | 'on', number[]> = { off: [], read: [], on: [] };
for (let r = 0; r < ROUNDS; r += 1) {
  samples.off.push(await round(gateways.off));
  samples.read.push(await round(gateways.read));
  samples.on.push(await round(gateways.on));
}
const off = median(samples.off);
const on = median(samples.on);
const read = median(samples.read);
console.log(
  JSON.stringify({
    requestsPerRound: REQUESTS,
    rounds: ROUNDS,
    cpuMicrosPerRequest: {
      off: Math.round(off),
      accountingWithoutStats: Math.round(read),
      on: Math.round(on),
      added: Math.round(on - off),
    },
    addedPercent: Math.round(((on - off) / off) * 1000) / 10,
    // Rounds run back to back, so a round's pair shares the machine's state: the median of the paired differences.
    addedPairedMedian: Math.round(median(samples.on.map((value, r) => value - (samples.off[r] as number)))),
    rounds_us: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map(Math.round)])),
  }),
);
await gateways.read.stop();
await gateways.off.stop();
await gateways.on.stop();
upstream.close();
