import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import type { RecordedRequest } from '../servers/recording-upstream.js';
import { assertLabelSetWithin, assertQueryResultWithin, sumVisible } from '../servers/tenant-view.js';
import { startVictoriaMetrics, type VictoriaMetricsServer } from '../servers/victoria-metrics.js';

// Issue #3: `type = "prometheus"` in front of VictoriaMetrics (Debian's victoria-metrics). PromQL-compatible
// queries are enforced and answered; a MetricsQL-only query is refused with 400 and never reaches
// VictoriaMetrics. A recording proxy between the gateway and VictoriaMetrics keeps what the gateway sent.
// `type = "victoriametrics"` (Host vm.example) serves MetricsQL: the policy also travels as VictoriaMetrics'
// own `extra_filters[]`, so queries the gateway cannot parse are enforced by VictoriaMetrics.

let vm: VictoriaMetricsServer;

/** Forwards one recorded request to VictoriaMetrics and relays its answer. */
async function relayToVictoriaMetrics(request: RecordedRequest, res: import('node:http').ServerResponse): Promise<void> {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const contentType = request.headers['content-type'];
  const upstream = await fetch(`${vm.url}${request.url}`, {
    method: request.method,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    ...(hasBody ? { body: request.body } : {}),
  });
  res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
  res.end(Buffer.from(await upstream.arrayBuffer()));
}

const fixture = gatewayFixture({
  before: async (cleanup) => {
    vm = await startVictoriaMetrics();
    cleanup.after(() => vm.stop());
  },
  tokens: {
    'tok-a': { tenant: 'tenant-a', namespace: 'team-a' },
    'tok-ab': { tenant: 'tenant-a', namespaces: ['team-a', 'team-b'] },
    'tok-all': { tenant: 'tenant-a', namespaces: ['.*'] },
    // A policy of several selectors (docs/policies.md): team-a's api series, or anything of team-c.
    'tok-dnf': { tenant: 'tenant-a', selectors: [{ namespace: 'team-a', job: 'api' }, { namespace: 'team-c' }] },
  },
  upstream: { handler: relayToVictoriaMetrics },
  config: (recorder) => ({
    log_level: 'warn',
    file: { watch: false },
    proxy: {
      upstreams: [
        { name: 'vm-metricsql', match: 'vm\\.example', priority: 10, upstream: recorder, type: 'victoriametrics' },
        { name: 'victoria-metrics', match: '.*', upstream: recorder, type: 'prometheus' },
      ],
    },
  }),
});

function query(expr: string): Promise<RawResponse> {
  const params = new URLSearchParams({ query: expr, time: String(vm.sampleTime) });
  return sendRaw(fixture.gateway.url, { path: `/api/v1/query?${params}`, headers: { authorization: 'Bearer tok-a' } });
}

/** The `query` parameter VictoriaMetrics received (the only request of the test). */
function querySeenUpstream(): string | null {
  assert.equal(fixture.upstream.requests.length, 1);
  return new URL(fixture.upstream.requests[0]?.url ?? '', 'http://x').searchParams.get('query');
}

const COMPATIBLE: readonly { readonly expr: string; readonly sent: string; readonly series?: number; readonly value?: number }[] = [
  { expr: 'http_requests_total', sent: 'http_requests_total{namespace="team-a"}', series: 2 },
  { expr: 'http_requests_total{namespace="team-b"}', sent: 'http_requests_total{namespace="team-a"}', series: 2 },
  { expr: '{__name__=~".+"}', sent: '{__name__=~".+", namespace="team-a"}', series: 5 },
  {
    expr: 'node_boot_time_seconds or service_up',
    sent: 'node_boot_time_seconds{namespace="team-a"} or service_up{namespace="team-a"}',
    series: 1,
  },
  {
    expr: 'sum(http_requests_total)',
    sent: 'sum(http_requests_total{namespace="team-a"})',
    value: sumVisible('http_requests_total', ['team-a']),
  },
  {
    expr: 'sum(label_replace(http_requests_total{namespace="team-c"}, "namespace", "team-a", "", ""))',
    sent: 'sum(label_replace(http_requests_total{namespace="team-a"}, "namespace", "team-a", "", ""))',
    value: sumVisible('http_requests_total', ['team-a']),
  },
  // MetricsQL reads `rate(x)` without a range; the grammar accepts it, and it is enforced like any selector.
  { expr: 'sum(rate(http_requests_total))', sent: 'sum(rate(http_requests_total{namespace="team-a"}))' },
];

describe('PromQL-compatible queries are enforced and answered', () => {
  for (const row of COMPATIBLE) {
    test(row.expr, async () => {
      const res = await query(row.expr);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(querySeenUpstream(), row.sent);
      const body = res.json<{ status: string; data: { result: { value: [number, string] }[] } }>();
      if (row.value !== undefined) {
        assert.equal(body.data.result.length, 1);
        assert.equal(Number(body.data.result[0]?.value[1]), row.value);
      } else if (row.series !== undefined) {
        assert.equal(assertQueryResultWithin(body, ['team-a'], row.expr).length, row.series);
      }
    });
  }

  test('series and label values without match[] are narrowed to the tenant', async () => {
    const headers = { authorization: 'Bearer tok-a' };
    const match = new URLSearchParams({ 'match[]': '{__name__=~".+"}' });
    const series = await sendRaw(fixture.gateway.url, { path: `/api/v1/series?${match}`, headers });
    assert.equal(series.status, 200, series.body.toString());
    const sets = series.json<{ data: Record<string, string>[] }>().data;
    assert.ok(sets.length > 0, 'the tenant still sees its own series');
    for (const labels of sets) assertLabelSetWithin(labels, ['team-a'], 'series');
    const values = await sendRaw(fixture.gateway.url, { path: '/api/v1/label/namespace/values', headers });
    assert.deepEqual(values.json<{ data: string[] }>().data, ['team-a']);
    const jobs = await sendRaw(fixture.gateway.url, { path: '/api/v1/label/job/values', headers });
    assert.deepEqual(jobs.json<{ data: string[] }>().data, ['api']);
  });
});

const METRICSQL_ONLY: readonly string[] = [
  'WITH (x = node_boot_time_seconds) x',
  'http_requests_total{namespace="team-a" or namespace="team-b"}',
  'rate(http_requests_total[1m]) keep_metric_names',
  'sum(http_requests_total) default 0',
  'union(http_requests_total, node_boot_time_seconds)',
  'http_requests_total[1i]',
  'node_boot_time_seconds if service_up',
  'http_requests_total limit 1',
];

describe('MetricsQL-only queries are refused with 400 and never reach VictoriaMetrics', () => {
  for (const expr of METRICSQL_ONLY) {
    test(expr, async () => {
      const res = await query(expr);
      assert.equal(res.status, 400, res.body.toString());
      const body = res.json<{ status: string; errorType: string; code: string }>();
      assert.equal(body.status, 'error');
      assert.equal(body.errorType, 'bad_data');
      assert.equal(body.code, 'query_parse_error');
      assert.equal(fixture.upstream.requests.length, 0, 'VictoriaMetrics must not see a query the gateway could not read');
    });
  }

  test("VictoriaMetrics itself would answer them (so the refusal is the gateway's)", async () => {
    const params = new URLSearchParams({ query: 'WITH (x = node_boot_time_seconds) x', time: String(vm.sampleTime) });
    const direct = await fetch(`${vm.url}/api/v1/query?${params}`);
    assert.equal(direct.status, 200);
    const body = (await direct.json()) as { data: { result: unknown[] } };
    assert.equal(body.data.result.length, 1, 'directly, the unlabelled series is readable');
  });
});

/** A request to the `victoriametrics` upstream. */
function vmRequest(path: string, token = 'tok-a', init: { method?: string; body?: string } = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { host: 'vm.example', authorization: `Bearer ${token}` };
  if (init.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  return sendRaw(fixture.gateway.url, { path, headers, ...init });
}

function vmQuery(expr: string, token = 'tok-a', extra: Record<string, string> = {}): Promise<RawResponse> {
  return vmRequest(`/api/v1/query?${new URLSearchParams({ query: expr, time: String(vm.sampleTime), ...extra })}`, token);
}

/** The parameters VictoriaMetrics received (URL and form body) on the only request of the test. */
function paramsSeenUpstream(): URLSearchParams {
  assert.equal(fixture.upstream.requests.length, 1);
  const request = fixture.upstream.requests[0] as RecordedRequest;
  const params = new URL(request.url, 'http://x').searchParams;
  for (const [name, value] of new URLSearchParams(request.body.toString())) params.append(name, value);
  return params;
}

const TEAM_A_FILTER = '{namespace="team-a"}';

describe('type = "victoriametrics": MetricsQL is answered, enforced by VictoriaMetrics\' extra_filters[] as well', () => {
  // What each MetricsQL-only query must answer for a team-a identity: its own series only (`series`), one
  // aggregate equal to team-a's own (`value`), or nothing (the unlabelled series stays hidden).
  const ANSWERS: readonly { expr: string; series?: number; value?: number }[] = [
    { expr: 'WITH (x = node_boot_time_seconds) x', series: 0 },
    { expr: 'WITH (x = {__name__!=""}) count(x)', value: 5 },
    { expr: 'rate(http_requests_total[1m]) keep_metric_names', series: 2 },
    { expr: 'sum(http_requests_total) default 0', value: sumVisible('http_requests_total', ['team-a']) },
    { expr: 'union(http_requests_total, node_boot_time_seconds)', series: 2 },
    { expr: 'http_requests_total[1i]', series: 2 },
    { expr: 'node_boot_time_seconds if service_up', series: 0 },
  ];
  for (const { expr, series, value } of ANSWERS) {
    test(`${expr}: reaches VictoriaMetrics as sent, with exactly the policy's extra_filters[], and answers team-a's data only`, async () => {
      const res = await vmQuery(expr);
      assert.equal(res.status, 200, res.body.toString());
      const seen = paramsSeenUpstream();
      assert.equal(seen.get('query'), expr);
      assert.deepEqual(seen.getAll('extra_filters[]'), [TEAM_A_FILTER]);
      const body = res.json<{ status: string; data: { result: { value: [number, string] }[] } }>();
      if (value !== undefined) {
        assert.equal(body.data.result.length, 1, expr);
        assert.equal(Number(body.data.result[0]?.value[1]), value, expr);
      } else {
        assert.equal(assertQueryResultWithin(body, ['team-a'], expr).length, series, expr);
      }
    });
  }

  test('what VictoriaMetrics 1.79 cannot parse either (`or` filters, `limit`) is its 422, with no data', async () => {
    for (const expr of ['http_requests_total{namespace="team-a" or namespace="team-b"}', 'http_requests_total limit 1', 'sum(']) {
      fixture.upstream.reset();
      const res = await vmQuery(expr);
      assert.equal(res.status, 422, res.body.toString());
      assert.ok(!res.body.toString().includes('"result"'), expr);
    }
  });

  test('a PromQL-readable query is rewritten as well (two independent enforcements)', async () => {
    const res = await vmQuery('sum by (namespace) (http_requests_total{namespace="team-b"})');
    assert.equal(res.status, 200, res.body.toString());
    const seen = paramsSeenUpstream();
    assert.equal(seen.get('query'), 'sum by (namespace) (http_requests_total{namespace="team-a"})');
    assert.deepEqual(seen.getAll('extra_filters[]'), [TEAM_A_FILTER]);
    assertQueryResultWithin(res.json(), ['team-a'], 'sum by namespace');
  });

  test('two namespaces travel as one anchored alternation (several extra_filters would be ORed)', async () => {
    const res = await vmQuery('count by (namespace) (union(http_requests_total, service_up))', 'tok-ab');
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(paramsSeenUpstream().getAll('extra_filters[]'), ['{namespace=~"team-a|team-b"}']);
    const namespaces = res
      .json<{ data: { result: { metric: { namespace: string } }[] } }>()
      .data.result.map((r) => r.metric.namespace)
      .sort();
    assert.deepEqual(namespaces, ['team-a', 'team-b']);
  });

  test("the client's own extra_filters / extra_label, in the URL, encoded, or in the body, never reach VictoriaMetrics", async () => {
    const expr = 'count by (namespace) ({__name__!=""})';
    const forged = `extra_filters%5B%5D=${encodeURIComponent('{namespace="team-b"}')}&extra_filters=${encodeURIComponent('{namespace="team-c"}')}&extra_label=namespace%3Dteam-b`;
    const res = await vmRequest(`/api/v1/query?${forged}&time=${vm.sampleTime}`, 'tok-a', {
      method: 'POST',
      body: `query=${encodeURIComponent(expr)}&extra_filters[]=${encodeURIComponent('{namespace=~".+"}')}`,
    });
    assert.equal(res.status, 200, res.body.toString());
    const seen = paramsSeenUpstream();
    assert.deepEqual(seen.getAll('extra_filters[]'), [TEAM_A_FILTER]);
    assert.deepEqual(seen.getAll('extra_filters'), []);
    assert.deepEqual(seen.getAll('extra_label'), []);
    const namespaces = res.json<{ data: { result: { metric: { namespace: string } }[] } }>().data.result.map((r) => r.metric.namespace);
    assert.deepEqual(namespaces, ['team-a']);
  });

  test('series, labels, label values, export and federate are narrowed to the policy', async () => {
    const match = encodeURIComponent('{__name__!=""}');
    const series = await vmRequest(`/api/v1/series?match[]=${match}`);
    for (const labels of series.json<{ data: Record<string, string>[] }>().data) assertLabelSetWithin(labels, ['team-a'], 'series');
    fixture.upstream.reset();
    assert.deepEqual((await vmRequest('/api/v1/label/namespace/values')).json<{ data: string[] }>().data, ['team-a']);
    fixture.upstream.reset();
    assert.ok(
      !(await vmRequest('/api/v1/labels')).json<{ data: string[] }>().data.includes('instance'),
      "the unlabelled series' labels stay hidden",
    );
    fixture.upstream.reset();
    const exported = (await vmRequest(`/api/v1/export?match[]=${match}`)).body.toString().trim().split('\n');
    assert.ok(exported.length > 0);
    for (const line of exported) assertLabelSetWithin(JSON.parse(line).metric, ['team-a'], 'export');
    fixture.upstream.reset();
    const federated = (await vmRequest(`/federate?match[]=${match}`)).body.toString();
    assert.ok(federated.includes('namespace="team-a"'));
    assert.ok(!/namespace="team-[bc]"|instance="node-1"/.test(federated), federated);
  });

  test('full access sends no extra filter and the query as written', async () => {
    const res = await vmQuery('WITH (x = node_boot_time_seconds) x', 'tok-all');
    assert.equal(res.status, 200, res.body.toString());
    const seen = paramsSeenUpstream();
    assert.equal(seen.get('query'), 'WITH (x = node_boot_time_seconds) x');
    assert.deepEqual(seen.getAll('extra_filters[]'), []);
    assert.equal(res.json<{ data: { result: unknown[] } }>().data.result.length, 1);
  });

  test('import and status endpoints need full access; writes are off by default; admin stays blocked; export needs match[]', async () => {
    const imported = await vmRequest('/api/v1/import/prometheus', 'tok-a', { method: 'POST', body: 'x{namespace="team-b"} 1' });
    assert.equal(imported.status, 403);
    assert.equal(imported.json().code, 'write_endpoint_blocked');
    assert.equal((await vmRequest('/api/v1/export')).json().code, 'missing_match');
    assert.equal((await vmRequest('/api/v1/status/top_queries')).status, 403);
    assert.equal((await vmRequest('/api/v1/admin/tsdb/delete_series?match[]=up', 'tok-all', { method: 'POST', body: '' })).status, 403);
    assert.equal(fixture.upstream.requests.length, 0);
  });
});

describe('type = "victoriametrics" and a policy of several selectors: one extra_filters[] per selector, ORed by VictoriaMetrics', () => {
  const FILTERS = ['{namespace="team-a", job="api"}', '{namespace="team-c"}'];
  const seriesOf = (res: RawResponse) =>
    res
      .json<{ data: { result: { metric: Record<string, string> }[] } }>()
      .data.result.map((r) => `${r.metric.namespace}/${r.metric.job}/${r.metric.code}`)
      .sort();

  for (const expr of ['WITH (x = http_requests_total) x', 'http_requests_total[5m]']) {
    test(`${expr}: sent as written (MetricsQL, or PromQL that cannot say the union), answered with exactly the union`, async () => {
      const res = await vmQuery(expr, 'tok-dnf');
      assert.equal(res.status, 200, res.body.toString());
      const seen = paramsSeenUpstream();
      assert.equal(seen.get('query'), expr);
      assert.deepEqual(seen.getAll('extra_filters[]'), FILTERS);
      assert.deepEqual(seriesOf(res), ['team-a/api/200', 'team-a/api/500', 'team-c/web/200']);
    });
  }

  test('a PromQL-readable query is also rewritten as the union', async () => {
    const res = await vmQuery('http_requests_total{code="200"}', 'tok-dnf');
    assert.equal(res.status, 200, res.body.toString());
    const seen = paramsSeenUpstream();
    assert.equal(
      seen.get('query'),
      '(http_requests_total{code="200", namespace="team-a", job="api"} or http_requests_total{code="200", namespace="team-c"})',
    );
    assert.deepEqual(seen.getAll('extra_filters[]'), FILTERS);
    assert.deepEqual(seriesOf(res), ['team-a/api/200', 'team-c/web/200']);
  });
});
