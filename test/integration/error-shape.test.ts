import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gatewayFixture } from '../servers/gateway-fixture.js';

// Issue #10: errors in the documented JSON shape in every case — HEAD on a Prometheus API path was forwarded
// and answered with Prometheus' own text/plain 405, and the gateway's own 405 said errorType "internal"; a
// denial made before the tenant was resolved counted as tenant="none" although the identity was known.
// Issue #11: the endpoints a label policy cannot narrow are refused once, by the pipeline, with one code.

const fixture = gatewayFixture({
  tokens: {
    'tok-reader': { tenant: 'team-a', namespace: 'team-a', scopes: ['read'] },
    'tok-full': { tenant: 'team-a', namespaces: ['.*'] },
    'tok-two': { tenants: ['team-a', 'team-b'], namespace: 'team-a', scopes: ['read'] },
  },
  config: (upstream) => ({
    // allow_unenforced_policy is raw's opt-out: on another type it must not open full-access-only endpoints.
    proxy: { upstreams: [{ name: 'prom', match: '.*', type: 'prometheus', upstream, allow_write: true, allow_unenforced_policy: true }] },
  }),
});

function head(path: string, token: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, fixture.gateway.url);
    const req = request(url, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("HEAD on a Prometheus API path is the gateway's JSON 405 with Allow, and never reaches the upstream", async () => {
  fixture.upstream.reset();
  for (const path of ['/api/v1/query?query=up', '/api/v1/labels', '/api/v1/status/buildinfo']) {
    const res = await head(path, 'tok-reader');
    assert.equal(res.status, 405, path);
    assert.equal(res.headers['content-type'], 'application/json', path);
    assert.match(String(res.headers.allow), /GET/, path);
  }
  assert.equal(fixture.upstream.requests.length, 0);
  // HEAD stays allowed where the row lists it (Prometheus serves HEAD on its health endpoints).
  assert.equal((await head('/-/healthy', 'tok-reader')).status, 200);
});

test("a method the endpoint does not accept is 405 in Prometheus' shape with a client errorType", async () => {
  const res = await fetch(`${fixture.gateway.url}/api/v1/status/buildinfo`, {
    method: 'DELETE',
    headers: { authorization: 'Bearer tok-reader' },
  });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET');
  assert.deepEqual(await res.json(), {
    status: 'error',
    errorType: 'bad_data',
    error: 'DELETE is not allowed on /api/v1/status/buildinfo',
    code: 'method_not_allowed',
  });
});

test('a full-access-only endpoint refuses a limited identity with full_access_required; full access passes', async () => {
  fixture.upstream.reset();
  const refused = await fetch(`${fixture.gateway.url}/api/v1/status/config`, { headers: { authorization: 'Bearer tok-reader' } });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { code: string }).code, 'full_access_required');
  assert.equal(fixture.upstream.requests.length, 0);
  const allowed = await fetch(`${fixture.gateway.url}/api/v1/status/config`, { headers: { authorization: 'Bearer tok-full' } });
  assert.equal(allowed.status, 200);
  assert.equal(fixture.upstream.requests.length, 1);
});

test("a denial before the tenant is resolved counts under the identity's one tenant; several tenants count as none", async () => {
  // No write scope: refused while authorising the endpoint, before the tenant header is decided.
  const write = (token: string) =>
    fetch(`${fixture.gateway.url}/api/v1/write`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-protobuf' },
      body: 'x',
    });
  assert.equal((await write('tok-reader')).status, 403);
  assert.equal((await write('tok-two')).status, 403);
  const metrics = await (await fetch(`${fixture.gateway.adminUrl}/metrics`)).text();
  assert.match(metrics, /scopegate_requests_total\{tenant="team-a",upstream="prom",endpoint="prometheus.remote_write",code="403"\} 1/);
  assert.match(metrics, /scopegate_requests_total\{tenant="none",upstream="prom",endpoint="prometheus.remote_write",code="403"\} 1/);
});
