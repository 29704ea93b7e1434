import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { startRedis, type RedisServer } from '../servers/redis.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #21, part 3: a query budget per tenant in Redis is shared by two gateways (each its own app and Redis
// client). The upstream answers like Prometheus asked for `stats`: 600 samples a query.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let redis: RedisServer;
const gateways: StartedGateway[] = [];
let nowMs = Date.UTC(2026, 11, 6, 12);
const clock = { now: () => nowMs };

const ANSWER =
  '{"status":"success","data":{"resultType":"vector","result":[],"stats":{"timings":{"evalTotalTime":0.001},"samples":{"totalQueryableSamples":600,"peakSamples":3}}}}';

before(async () => {
  upstream = await startRecordingUpstream();
  upstream.setHandler((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) }).end(ANSWER);
  });
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'team-a', name: 'a', namespaces: ['team-a'] },
    'tok-a2': { tenant: 'team-a', name: 'a2', namespaces: ['team-a'] },
  });
  redis = await startRedis();
  for (let i = 0; i < 2; i += 1) {
    gateways.push(
      await startTestGateway(
        {
          backend_type: 'file',
          file: { path: tokens.path },
          query_cost: { enabled: true },
          limits: {
            backend: 'redis',
            redis: { url: redis.url, timeout: '1s', connect_timeout: '1s', key_prefix: 'sg-budget:' },
            rules: [{ name: 'tenant-samples', per: 'tenant', max_samples: 1000, budget_window: '10m' }],
          },
          proxy: { upstreams: [{ name: 'prom', match: '.*', upstream: upstream.url, type: 'prometheus' }] },
        },
        { clock },
      ),
    );
  }
});

after(async () => {
  for (const gateway of gateways) await gateway.stop();
  await redis.stop();
  await upstream.stop();
  await tokens.remove();
});

async function query(gateway: StartedGateway, token: string): Promise<Response> {
  return fetch(`${gateway.url}/api/v1/query?query=up&time=1`, { headers: { authorization: `Bearer ${token}` } });
}

test('two gateways spend one tenant budget in Redis; past it both refuse 429 query_budget_exceeded until the window ends', async () => {
  const [one, two] = gateways as [StartedGateway, StartedGateway];
  const first = await query(one, 'tok-a');
  assert.equal(first.status, 200);
  assert.deepEqual(
    await first.json(),
    { status: 'success', data: { resultType: 'vector', result: [] } },
    'the stats the gateway asked for are gone',
  );
  assert.match(upstream.requests[0]?.url ?? '', /[?&]stats=1(?:&|$)/);
  // 600 spent: still under 1000, so the second query (another identity of the tenant, the other gateway) runs.
  // The charge is written when the response ends, without holding it: wait until Redis has it.
  await waitFor(async () => (await query(two, 'tok-a2')).status === 200);
  await waitFor(async () => (await query(one, 'tok-a')).status === 429);
  const refused = await query(two, 'tok-a');
  assert.equal(refused.status, 429);
  assert.match(((await refused.json()) as { error: string }).error, /query budget of 1000 samples/);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 600);
  nowMs += retryAfter * 1000;
  assert.equal((await query(one, 'tok-a')).status, 200, 'a new window, a new budget');
});

/** Polls a condition the gateway reaches asynchronously (a Redis write not awaited by the response). */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('condition not reached');
}
