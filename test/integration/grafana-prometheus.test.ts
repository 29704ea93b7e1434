import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendRaw } from '../servers/http-client.js';
import { GRAFANA_DS_TOKEN, startGrafanaGateway, type GrafanaGateway } from '../servers/grafana-gateway.js';
import { startPrometheus } from '../servers/prometheus.js';

// Issue #20 against a real Prometheus: what a Grafana user reads through the one shared data source is what
// their teams allow, and the data source's credential alone (alerting) reads only its own policy.

interface VectorBody {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

test("Grafana users read their teams' namespaces from a real Prometheus, nothing else", async (t) => {
  const prometheus = await startPrometheus();
  t.after(() => prometheus.stop());
  const g = await startGrafanaGateway(t, { upstreamUrl: prometheus.url });
  const namespaces = async (g: GrafanaGateway, headers: Record<string, string>) => {
    const query = encodeURIComponent('sum by (namespace) (http_requests_total)');
    const res = await sendRaw(g.gateway.url, { path: `/api/v1/query?query=${query}&time=${prometheus.sampleTime}`, headers });
    assert.equal(res.status, 200, res.body.toString());
    return res
      .json<VectorBody>()
      .data.result.map((r) => r.metric.namespace)
      .sort();
  };
  const user = async (sub: string) => ({ authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-id': await g.sign({ claims: { sub } }) });
  assert.deepEqual(await namespaces(g, await user('user:7')), ['team-a', 'team-b']);
  assert.deepEqual(await namespaces(g, await user('user:8')), ['team-b']);
  assert.deepEqual(await namespaces(g, { authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-user': 'admin', 'x-rule-uid': 'r' }), []);
});

test('a user in two teams with multi-label selectors reads exactly the union from a real Prometheus', async (t) => {
  const prometheus = await startPrometheus();
  t.after(() => prometheus.stop());
  const g = await startGrafanaGateway(t, {
    upstreamUrl: prometheus.url,
    teams: [
      { id: 1, uid: 'uid-alpha', name: 'alpha', members: [7] },
      { id: 5, uid: 'uid-delta', name: 'delta', members: [7, 8] },
    ],
    grafana: {
      teams: [
        { name: 'alpha', tenants: ['tenant-a'], selectors: [{ namespace: 'team-a', code: '500' }] },
        {
          name: 'delta',
          tenants: ['tenant-a'],
          selectors: [
            { namespace: 'team-c', job: 'web' },
            { namespace: 'team-b', code: '404' },
          ],
        },
      ],
    },
  });
  const series = async (sub: string, query: string) => {
    const headers = { authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-id': await g.sign({ claims: { sub } }) };
    const res = await sendRaw(g.gateway.url, {
      path: `/api/v1/query?query=${encodeURIComponent(query)}&time=${prometheus.sampleTime}`,
      headers,
    });
    if (res.status !== 200) return `${res.status} ${String(res.json().code)}`;
    return res
      .json<VectorBody>()
      .data.result.map((r) => `${r.metric.namespace}/${r.metric.code}=${r.value[1]}`)
      .sort();
  };
  assert.deepEqual(await series('user:7', 'http_requests_total'), ['team-a/500=50', 'team-c/200=300']);
  assert.deepEqual(await series('user:8', 'http_requests_total'), ['team-c/200=300']);
  const summed = await series('user:7', 'sum by (namespace, code) (http_requests_total)');
  assert.ok(
    Array.isArray(summed) ? summed.join() === 'team-a/500=50,team-c/200=300' : summed === '403 policy_not_expressible',
    String(summed),
  );
});
