import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #21, part 3: what each query cost, per identity, against a real Prometheus (Debian's). The gateway asks
// for `stats` where the caller did not, reads the samples and removes the statistics again; the counters fold
// identities past the top N of a tenant into `other`; /query-cost lists the last hour; a budget refuses.
let prometheus: PrometheusServer;
let tokens: TempTokenFile;
let gateway: StartedGateway;
let nowMs = Date.UTC(2026, 11, 6, 12);
const clock = { now: () => nowMs };

// Already narrowed to the identities' namespace, so the enforced query evaluates as the direct one does.
const QUERY = 'http_requests_total{namespace="team-a"}';

before(async () => {
  prometheus = await startPrometheus();
  const namespaces = ['team-a'];
  tokens = await createTempTokenFile({
    'tok-alice': { tenant: 'team-a', name: 'alice', namespaces },
    'tok-fold-1': { tenant: 'team-f', name: 'fold-1', namespaces },
    'tok-fold-2': { tenant: 'team-f', name: 'fold-2', namespaces },
    'tok-bud': { tenant: 'team-b', name: 'bud', namespaces },
  });
  gateway = await startTestGateway(
    {
      backend_type: 'file',
      file: { path: tokens.path },
      query_cost: { enabled: true, top_identities: 1 },
      limits: { rules: [{ name: 'sample-budget', subjects: ['bud'], max_samples: 1, budget_window: '1h' }] },
      proxy: { upstreams: [{ name: 'prom', match: '.*', upstream: prometheus.url, type: 'prometheus' }] },
    },
    { clock },
  );
});

after(async () => {
  await gateway.stop();
  await prometheus.stop();
  await tokens.remove();
});

function rangeParams(extra: Record<string, string> = {}): URLSearchParams {
  const end = prometheus.sampleTime;
  return new URLSearchParams({ query: QUERY, start: String(end - 60), end: String(end), step: '15', ...extra });
}

async function viaGateway(token: string, path: string, params: URLSearchParams): Promise<Response> {
  return fetch(`${gateway.url}${path}?${params}`, { headers: { authorization: `Bearer ${token}` } });
}

async function direct(path: string, params: URLSearchParams): Promise<unknown> {
  return (await fetch(`${prometheus.url}${path}?${params}`)).json();
}

async function metric(name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** The statistics without their timings, which differ from run to run. */
function withoutTimings(body: { data: { stats?: { timings?: unknown } } }): unknown {
  const { timings: _timings, ...stats } = body.data.stats ?? {};
  return { ...body, data: { ...body.data, stats } };
}

test('the gateway asks for stats, reads the samples, and the client gets the body a direct query without stats gives', async () => {
  for (const [path, params] of [
    ['/api/v1/query_range', rangeParams()],
    ['/api/v1/query', new URLSearchParams({ query: QUERY, time: String(prometheus.sampleTime) })],
  ] as const) {
    const before = (await metric('scopegate_query_samples_total', 'tenant="team-a",identity="alice"')) ?? 0;
    const res = await viaGateway('tok-alice', path, params);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: Record<string, unknown> };
    assert.equal('stats' in body.data, false, 'the statistics the gateway asked for are removed');
    assert.deepEqual(body, await direct(path, params));
    const withStats = (await direct(path, new URLSearchParams([...params, ['stats', '1']]))) as {
      data: { stats: { samples: { totalQueryableSamples: number } } };
    };
    const samples = withStats.data.stats.samples.totalQueryableSamples;
    assert.ok(samples > 0);
    assert.equal(await metric('scopegate_query_samples_total', 'tenant="team-a",identity="alice"'), before + samples);
  }
});

test('a form POST query has its stats removed too', async () => {
  const res = await fetch(`${gateway.url}/api/v1/query_range`, {
    method: 'POST',
    headers: { authorization: 'Bearer tok-alice', 'content-type': 'application/x-www-form-urlencoded' },
    body: rangeParams(),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), await direct('/api/v1/query_range', rangeParams()));
});

test('a caller that asks for stats gets them as Prometheus sends them, and they are still counted', async () => {
  const before = (await metric('scopegate_query_samples_total', 'tenant="team-a",identity="alice"')) ?? 0;
  const params = rangeParams({ stats: 'all' });
  const res = await viaGateway('tok-alice', '/api/v1/query_range', params);
  assert.equal(res.status, 200);
  // (Per-step samples need Prometheus' promql-per-step-stats feature flag: without it `all` gives the totals.)
  const body = (await res.json()) as { data: { stats: { timings?: unknown; samples: { totalQueryableSamples: number } } } };
  assert.ok(body.data.stats.samples.totalQueryableSamples > 0);
  assert.deepEqual(withoutTimings(body), withoutTimings((await direct('/api/v1/query_range', params)) as typeof body));
  assert.equal(
    await metric('scopegate_query_samples_total', 'tenant="team-a",identity="alice"'),
    before + body.data.stats.samples.totalQueryableSamples,
  );
  assert.ok(((await metric('scopegate_query_response_bytes_total', 'tenant="team-a",identity="alice"')) ?? 0) > 0);
  assert.ok(((await metric('scopegate_query_seconds_total', 'tenant="team-a",identity="alice"')) ?? 0) > 0);
});

test('past the top N of a tenant, identities are counted as other, until one outspends a labelled one', async () => {
  const small = new URLSearchParams({ query: QUERY, time: String(prometheus.sampleTime) });
  assert.equal((await viaGateway('tok-fold-1', '/api/v1/query_range', rangeParams())).status, 200);
  assert.equal((await viaGateway('tok-fold-2', '/api/v1/query', small)).status, 200);
  assert.ok(((await metric('scopegate_query_samples_total', 'tenant="team-f",identity="fold-1"')) ?? 0) > 0);
  assert.ok(((await metric('scopegate_query_samples_total', 'tenant="team-f",identity="other"')) ?? 0) > 0);
  assert.equal(await metric('scopegate_query_samples_total', 'tenant="team-f",identity="fold-2"'), undefined);
  // fold-2 now runs more than twice what fold-1 ran: it takes the one place, fold-1's series go.
  for (let i = 0; i < 3; i += 1) assert.equal((await viaGateway('tok-fold-2', '/api/v1/query_range', rangeParams())).status, 200);
  assert.ok(((await metric('scopegate_query_samples_total', 'tenant="team-f",identity="fold-2"')) ?? 0) > 0);
  assert.equal(await metric('scopegate_query_samples_total', 'tenant="team-f",identity="fold-1"'), undefined);
});

test("/query-cost on the admin listener lists the last hour's most expensive identities and queries, without credentials", async () => {
  const res = await fetch(`${gateway.adminUrl}/query-cost?by=samples`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.doesNotMatch(text, /tok-/);
  const { data } = JSON.parse(text) as {
    data: {
      windowSeconds: number;
      identities: { tenant: string; identity: string; samples: number }[];
      queries: { identity: string; query: string; samples: number | null; rangeSeconds: number | null }[];
    };
  };
  assert.equal(data.windowSeconds, 3600);
  const alice = data.identities.find((i) => i.identity === 'alice');
  assert.ok(alice && alice.samples > 0 && alice.tenant === 'team-a');
  const samples = data.identities.map((i) => i.samples);
  assert.deepEqual(
    samples,
    [...samples].sort((a, b) => b - a),
  );
  const ranged = data.queries.find((q) => q.identity === 'alice' && q.rangeSeconds === 60);
  assert.ok(ranged, 'a range query is listed with its span');
  assert.match(ranged.query, /http_requests_total/);
  assert.equal((await fetch(`${gateway.adminUrl}/query-cost?by=nothing`)).status, 400);
  assert.equal(
    (await fetch(`${gateway.url}/query-cost`, { headers: { authorization: 'Bearer tok-alice' } })).status,
    404,
    'not on the proxy listener',
  );
});

test('a sample budget: the query that spends it completes, the next is refused 429 until the window ends', async () => {
  assert.equal((await viaGateway('tok-bud', '/api/v1/query_range', rangeParams())).status, 200);
  const refused = await viaGateway('tok-bud', '/api/v1/query_range', rangeParams());
  assert.equal(refused.status, 429);
  const body = (await refused.json()) as { errorType: string; error: string };
  assert.match(body.error, /query budget/);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 3600);
  // Lookups are not costed, so not refused by a query budget.
  assert.equal((await fetch(`${gateway.url}/api/v1/labels`, { headers: { authorization: 'Bearer tok-bud' } })).status, 200);
  assert.equal(await metric('scopegate_limited_total', 'tenant="team-b",limit="query_budget_exceeded"'), 1);
  nowMs += retryAfter * 1000;
  assert.equal((await viaGateway('tok-bud', '/api/v1/query_range', rangeParams())).status, 200, 'a new window, a new budget');
});
