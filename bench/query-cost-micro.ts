import { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { Identity } from '../src/identity/identity.js';
import type { Admission } from '../src/limits/limiter.js';
import { createQueryCostAccounting } from '../src/observability/query-cost-accounting.js';
import { prometheusPreset } from '../src/routing/presets/prometheus.js';
import { meterQuery, type QueryMeter } from '../src/server/query-meter.js';
import { CostReadingHandler } from '../src/upstream/cost-reading-handler.js';

/**
 * What query cost accounting adds to one query in the gateway's own code, without the sockets' noise (issue
 * #21): meterQuery (parameters read, `stats=1` added), the response through CostReadingHandler in strip mode (a
 * 1.3 KB Prometheus answer in one chunk, its stats found, read and removed), and `finish` (metrics with the
 * identity folding, ledger, budget charge). CPU per query, median of rounds.
 *
 *   node --import tsx bench/query-cost-micro.ts [iterations] [rounds]
 */
const ITERATIONS = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 7);

const series = Array.from(
  { length: 10 },
  (_, i) =>
    `{"metric":{"__name__":"http_requests_total","namespace":"team-a","pod":"pod-${i}"},"values":[[1,"1"],[16,"2"],[31,"3"],[46,"4"],[61,"5"]]}`,
).join(',');
const BODY = Buffer.from(
  `{"status":"success","data":{"resultType":"matrix","result":[${series}],"stats":{"timings":{"evalTotalTime":0.000123,"resultSortTime":0,"queryPreparationTime":0.00001,"innerEvalTime":0.0001,"execQueueTime":0.000002,"execTotalTime":0.00013},"samples":{"totalQueryableSamples":50,"peakSamples":10}}}}`,
);
const endpoint = prometheusPreset.endpoints.find((e) => e.name === 'prometheus.query_range');
if (endpoint === undefined) throw new Error('no query_range row');

const accounting = createQueryCostAccounting(
  new Registry(),
  { top_identities: 10, max_tenants: 200, top_queries: 20, ask_backend: true },
  () => Date.now(),
);
const admission = { ruleNames: [], check: () => undefined, charge: () => {}, release: () => {} } satisfies Admission;
const identities = Array.from({ length: 30 }, (_, i) => ({ subject: `user-${i}` }) as Identity);
const next: Dispatcher.DispatchHandler = { onResponseStart() {}, onResponseData() {}, onResponseEnd() {} };
const controller = {} as Dispatcher.DispatchController;
const query = 'query=rate(http_requests_total%7Bnamespace%3D%22team-a%22%7D%5B5m%5D)&start=1&end=61&step=15';

function one(i: number): void {
  const built = {
    request: { method: 'GET', path: '/api/v1/query_range', query, headers: {}, body: undefined },
    endpoint: endpoint as NonNullable<typeof endpoint>,
    upstream: { name: 'prom' },
    enforce: { tenants: ['team-a'] },
  };
  const meter = meterQuery(built, admission, identities[i % 30] as Identity, performance.now(), accounting) as QueryMeter;
  const handler = new CostReadingHandler(next, meter.report ?? {}, meter.cost, meter.strip, 1 << 20);
  handler.onResponseStart(controller, 200, { 'content-type': 'application/json', 'content-length': String(BODY.length) });
  handler.onResponseData(controller, BODY);
  handler.onResponseEnd(controller, {});
  meter.finish();
}

const perQuery: number[] = [];
for (let r = 0; r < ROUNDS; r += 1) {
  for (let i = 0; i < 2_000; i += 1) one(i);
  const start = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i += 1) one(i);
  const used = process.cpuUsage(start);
  perQuery.push((used.user + used.system) / ITERATIONS);
}
const sorted = [...perQuery].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    iterations: ITERATIONS,
    rounds: ROUNDS,
    cpuMicrosPerQuery: Math.round((sorted[Math.floor(ROUNDS / 2)] as number) * 10) / 10,
    rounds_us: perQuery.map((v) => Math.round(v * 10) / 10),
  }),
);
