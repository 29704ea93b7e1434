import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #2, proof: against a real Prometheus (Debian package), a valid token's query returns data through
// a `type = "raw"` upstream (LGTM Auth Proxy's behaviour: tenant header only).
let prometheus: PrometheusServer;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  prometheus = await startPrometheus();
  tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream: prometheus.url, type: 'raw' }] },
  });
});

after(async () => {
  await gateway.stop();
  await prometheus.stop();
  await tokens.remove();
});

interface VectorResponse {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('a valid token gets query results from Prometheus through the gateway', async () => {
  const query = new URLSearchParams({ query: 'sum by (namespace) (http_requests_total)', time: String(prometheus.sampleTime) });
  const res = await fetch(`${gateway.url}/api/v1/query?${query}`, { headers: { authorization: 'Bearer tok-a' } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as VectorResponse;
  assert.equal(body.status, 'success');
  const byNamespace = Object.fromEntries(body.data.result.map((r) => [r.metric.namespace, r.value[1]]));
  assert.deepEqual(byNamespace, { 'team-a': '150', 'team-b': '200', 'team-c': '300' });
});

test('a form-encoded POST query streams its body to Prometheus', async () => {
  const res = await fetch(`${gateway.url}/api/v1/query`, {
    method: 'POST',
    headers: { authorization: 'Bearer tok-a', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: 'service_up{namespace="team-b"}', time: String(prometheus.sampleTime) }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as VectorResponse;
  assert.deepEqual(
    body.data.result.map((r) => r.metric.namespace),
    ['team-b'],
  );
});

test('without a valid token Prometheus is not reached and the error is in its own API format', async () => {
  const res = await fetch(`${gateway.url}/api/v1/query?query=up`, { headers: { authorization: 'Bearer wrong' } });
  assert.equal(res.status, 401);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.status, 'error');
  assert.equal(body.errorType, 'unauthorized');
  assert.equal(body.code, 'invalid_token');
});
