import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile } from '../servers/temp-token-file.js';
import { assertLabelSetWithin, assertQueryResultWithin, sumVisible } from '../servers/tenant-view.js';
import { startVictoriaMetrics, type VictoriaMetricsServer } from '../servers/victoria-metrics.js';

// Issue #3: `type = "prometheus"` in front of VictoriaMetrics (Debian's victoria-metrics). PromQL-compatible
// queries are enforced and answered; a MetricsQL-only query is refused with 400 and never reaches
// VictoriaMetrics. A recording proxy between the gateway and VictoriaMetrics keeps what the gateway sent.

let vm: VictoriaMetricsServer;
let recorder: RecordingUpstream;
let gateway: StartedGateway;
let removeTokens: () => Promise<void>;

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

before(async () => {
  vm = await startVictoriaMetrics();
  recorder = await startRecordingUpstream({ handler: relayToVictoriaMetrics });
  const tokens = await createTempTokenFile({ 'tok-a': { tenant: 'tenant-a', namespace: 'team-a' } });
  removeTokens = tokens.remove;
  gateway = await startTestGateway({
    log_level: 'warn',
    backend_type: 'file',
    file: { path: tokens.path, watch: false },
    proxy: { upstreams: [{ name: 'victoria-metrics', match: '.*', upstream: recorder.url, type: 'prometheus' }] },
  });
});

after(async () => {
  await gateway?.stop();
  await recorder?.stop();
  await vm?.stop();
  await removeTokens?.();
});

beforeEach(() => recorder.reset());

function query(expr: string): Promise<RawResponse> {
  const params = new URLSearchParams({ query: expr, time: String(vm.sampleTime) });
  return sendRaw(gateway.url, { path: `/api/v1/query?${params}`, headers: { authorization: 'Bearer tok-a' } });
}

/** The `query` parameter VictoriaMetrics received (the only request of the test). */
function querySeenUpstream(): string | null {
  assert.equal(recorder.requests.length, 1);
  return new URL(recorder.requests[0]?.url ?? '', 'http://x').searchParams.get('query');
}

const COMPATIBLE: readonly { readonly expr: string; readonly sent: string; readonly series?: number; readonly value?: number }[] = [
  { expr: 'http_requests_total', sent: 'http_requests_total{namespace="team-a"}', series: 2 },
  { expr: 'http_requests_total{namespace="team-b"}', sent: 'http_requests_total{namespace="team-a"}', series: 2 },
  { expr: '{__name__=~".+"}', sent: '{__name__=~".+", namespace="team-a"}', series: 5 },
  { expr: 'node_boot_time_seconds or service_up', sent: 'node_boot_time_seconds{namespace="team-a"} or service_up{namespace="team-a"}', series: 1 },
  { expr: 'sum(http_requests_total)', sent: 'sum(http_requests_total{namespace="team-a"})', value: sumVisible('http_requests_total', ['team-a']) },
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
    const series = await sendRaw(gateway.url, { path: `/api/v1/series?${match}`, headers });
    assert.equal(series.status, 200, series.body.toString());
    const sets = series.json<{ data: Record<string, string>[] }>().data;
    assert.ok(sets.length > 0, 'the tenant still sees its own series');
    for (const labels of sets) assertLabelSetWithin(labels, ['team-a'], 'series');
    const values = await sendRaw(gateway.url, { path: '/api/v1/label/namespace/values', headers });
    assert.deepEqual(values.json<{ data: string[] }>().data, ['team-a']);
    const jobs = await sendRaw(gateway.url, { path: '/api/v1/label/job/values', headers });
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
      assert.equal(recorder.requests.length, 0, 'VictoriaMetrics must not see a query the gateway could not read');
    });
  }

  test('VictoriaMetrics itself would answer them (so the refusal is the gateway\'s)', async () => {
    const params = new URLSearchParams({ query: 'WITH (x = node_boot_time_seconds) x', time: String(vm.sampleTime) });
    const direct = await fetch(`${vm.url}/api/v1/query?${params}`);
    assert.equal(direct.status, 200);
    const body = (await direct.json()) as { data: { result: unknown[] } };
    assert.equal(body.data.result.length, 1, 'directly, the unlabelled series is readable');
  });
});
