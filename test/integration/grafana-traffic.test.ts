import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import { createTempTokenFile } from '../servers/temp-token-file.js';
import { assertLabelSetWithin, assertQueryResultWithin } from '../servers/tenant-view.js';

// Issue #3, proof: the requests Grafana's Prometheus data source sends (POST forms for queries, series and
// labels from the query editor, GET label values, exemplars, buildinfo) work through the gateway unchanged for
// a full-access identity (same answer as Prometheus directly) and filtered for a limited one (same answer as
// Prometheus gives for the query narrowed by hand to the tenant's namespace).

let prometheus: PrometheusServer;
let gateway: StartedGateway;
let removeTokens: () => Promise<void>;

before(async () => {
  prometheus = await startPrometheus();
  const tokens = await createTempTokenFile({
    'grafana-full': { tenant: 'ops', namespace: '.*' },
    'grafana-a': { tenant: 'tenant-a', namespace: 'team-a' },
  });
  removeTokens = tokens.remove;
  gateway = await startTestGateway({
    log_level: 'warn',
    backend_type: 'file',
    file: { path: tokens.path, watch: false },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream: prometheus.url, type: 'prometheus' }] },
  });
});

after(async () => {
  await gateway?.stop();
  await prometheus?.stop();
  await removeTokens?.();
});

const GRAFANA_HEADERS = { 'user-agent': 'Grafana/10.4.1', 'x-grafana-org-id': '1', 'x-dashboard-uid': 'k8s-ns', 'x-panel-id': '2' };

interface GrafanaRequest {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Form parameters (POST body, or URL query for GET). */
  readonly params: (start: number, end: number) => [string, string][];
  /** The same request as Prometheus must answer it for namespace team-a alone. */
  readonly asTeamA: (start: number, end: number) => [string, string][];
  /** An aggregation that drops the namespace label: only the comparison with `asTeamA` applies. */
  readonly dropsLabel?: true;
}

const range = (start: number, end: number): [string, string][] => [
  ['start', String(start)],
  ['end', String(end)],
];

const TRAFFIC: readonly GrafanaRequest[] = [
  {
    name: 'query_range: rate by code',
    method: 'POST',
    dropsLabel: true,
    path: '/api/v1/query_range',
    params: (s, e) => [['query', 'sum by (code) (rate(http_requests_total[1m]))'], ...range(s, e), ['step', '15']],
    asTeamA: (s, e) => [['query', 'sum by (code) (rate(http_requests_total{namespace="team-a"}[1m]))'], ...range(s, e), ['step', '15']],
  },
  {
    name: 'query_range: raw series',
    method: 'POST',
    path: '/api/v1/query_range',
    params: (s, e) => [['query', 'http_requests_total'], ...range(s, e), ['step', '15']],
    asTeamA: (s, e) => [['query', 'http_requests_total{namespace="team-a"}'], ...range(s, e), ['step', '15']],
  },
  {
    name: 'instant query (stat panel)',
    method: 'POST',
    dropsLabel: true,
    path: '/api/v1/query',
    params: (_s, e) => [
      ['query', 'sum(deployment_replicas) by (cluster)'],
      ['time', String(e)],
    ],
    asTeamA: (_s, e) => [
      ['query', 'sum(deployment_replicas{namespace="team-a"}) by (cluster)'],
      ['time', String(e)],
    ],
  },
  {
    name: 'labels (query editor)',
    method: 'POST',
    path: '/api/v1/labels',
    params: (s, e) => range(s, e),
    asTeamA: (s, e) => [...range(s, e), ['match[]', '{namespace="team-a"}']],
  },
  {
    name: 'metric names (metric browser)',
    method: 'GET',
    path: '/api/v1/label/__name__/values',
    params: (s, e) => range(s, e),
    asTeamA: (s, e) => [...range(s, e), ['match[]', '{namespace="team-a"}']],
  },
  {
    name: 'label values of job',
    method: 'GET',
    path: '/api/v1/label/job/values',
    params: (s, e) => range(s, e),
    asTeamA: (s, e) => [...range(s, e), ['match[]', '{namespace="team-a"}']],
  },
  {
    name: 'series (query editor)',
    method: 'POST',
    path: '/api/v1/series',
    params: (s, e) => [['match[]', 'http_requests_total'], ['match[]', 'deployment_replicas'], ...range(s, e)],
    asTeamA: (s, e) => [
      ['match[]', 'http_requests_total{namespace="team-a"}'],
      ['match[]', 'deployment_replicas{namespace="team-a"}'],
      ...range(s, e),
    ],
  },
  {
    name: 'exemplars',
    method: 'POST',
    path: '/api/v1/query_exemplars',
    params: (s, e) => [['query', 'http_requests_total'], ...range(s, e)],
    asTeamA: (s, e) => [['query', 'http_requests_total{namespace="team-a"}'], ...range(s, e)],
  },
  { name: 'buildinfo', method: 'GET', path: '/api/v1/status/buildinfo', params: () => [], asTeamA: () => [] },
];

function sendGrafana(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  params: [string, string][],
): Promise<RawResponse> {
  const encoded = new URLSearchParams(params).toString();
  const headers: Record<string, string> = { ...GRAFANA_HEADERS };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (method === 'GET') return sendRaw(base, { method, path: encoded ? `${path}?${encoded}` : path, headers });
  headers['content-type'] = 'application/x-www-form-urlencoded';
  headers['content-length'] = String(Buffer.byteLength(encoded));
  return sendRaw(base, { method, path, headers, body: encoded });
}

/** The window Grafana would ask for: the five minutes ending at the last sample. */
function window(): [number, number] {
  return [prometheus.sampleTime - 300, prometheus.sampleTime];
}

/** Every series or label value in the answer is team-a's (aggregations: see `dropsLabel`). */
function assertTeamAOnly(req: GrafanaRequest, body: { status: string; data: unknown }): void {
  const { name, path } = req;
  if (req.dropsLabel) return;
  if (path.endsWith('/query') || path.endsWith('/query_range') || path.endsWith('/query_exemplars')) {
    assertQueryResultWithin(body, ['team-a'], name);
  } else if (path === '/api/v1/series') {
    for (const labels of body.data as Record<string, string>[]) assertLabelSetWithin(labels, ['team-a'], name);
  } else if (Array.isArray(body.data)) {
    for (const foreign of ['team-b', 'team-c', 'web', 'node', 'instance', 'node_boot_time_seconds']) {
      assert.ok(!(body.data as string[]).includes(foreign), `${name}: ${foreign} leaked`);
    }
  }
}

describe('a full-access identity gets exactly what Prometheus answers', () => {
  for (const req of TRAFFIC) {
    test(req.name, async () => {
      const [start, end] = window();
      const params = req.params(start, end);
      const [viaGateway, direct] = await Promise.all([
        sendGrafana(gateway.url, 'grafana-full', req.method, req.path, params),
        sendGrafana(prometheus.url, undefined, req.method, req.path, params),
      ]);
      assert.equal(viaGateway.status, 200, viaGateway.body.toString());
      assert.equal(direct.status, 200, direct.body.toString());
      assert.deepEqual(viaGateway.json(), direct.json());
    });
  }
});

describe('a limited identity gets the answer for its namespace only', () => {
  for (const req of TRAFFIC) {
    test(req.name, async () => {
      const [start, end] = window();
      const [viaGateway, narrowed] = await Promise.all([
        sendGrafana(gateway.url, 'grafana-a', req.method, req.path, req.params(start, end)),
        sendGrafana(prometheus.url, undefined, req.method, req.path, req.asTeamA(start, end)),
      ]);
      assert.equal(viaGateway.status, 200, viaGateway.body.toString());
      const body = viaGateway.json<{ status: string; data: unknown }>();
      assert.deepEqual(body, narrowed.json());
      assertTeamAOnly(req, body);
    });
  }

  test('the answers are not trivially empty: team-a sees its own series', async () => {
    const [start, end] = window();
    const res = await sendGrafana(gateway.url, 'grafana-a', 'POST', '/api/v1/query_range', [
      ['query', 'http_requests_total'],
      ...range(start, end),
      ['step', '15'],
    ]);
    const result = res.json<{ data: { result: unknown[] } }>().data.result;
    assert.equal(result.length, 2);
  });

  test("metadata (used for metric help texts) lists every tenant's metrics: full access only", async () => {
    const limited = await sendGrafana(gateway.url, 'grafana-a', 'GET', '/api/v1/metadata', []);
    assert.equal(limited.status, 403);
    assert.equal(limited.json().code, 'full_access_required');
    const full = await sendGrafana(gateway.url, 'grafana-full', 'GET', '/api/v1/metadata', []);
    assert.equal(full.status, 200);
  });
});
