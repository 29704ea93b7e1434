import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { findFreePort } from '../servers/free-port.js';
import { startTestGateway } from '../servers/gateway.js';
import { startRecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile } from '../servers/temp-token-file.js';

// Issue #2, operations: /ready, /healthz, /metrics on the admin listener (which may share the proxy's port),
// and one access-log line per request.

test('/ready is 503 with the reason while the token set never loaded; /healthz stays 200; tokens get 503', async (t) => {
  const upstream = await startRecordingUpstream();
  const tokens = await createTempTokenFile({});
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: join(tokens.dir, 'missing.json') },
    proxy: { upstreams: [{ match: '.*', upstream: upstream.url }] },
  });
  t.after(async () => {
    await gateway.stop();
    await upstream.stop();
    await tokens.remove();
  });
  const ready = await fetch(`${gateway.adminUrl}/ready`);
  assert.equal(ready.status, 503);
  const body = (await ready.json()) as { status: string; reasons: Record<string, string> };
  assert.equal(body.status, 'not_ready');
  assert.match(body.reasons['secrets:file'] ?? '', /^token set from file never loaded \(last error: .*ENOENT/);
  assert.equal((await fetch(`${gateway.adminUrl}/healthz`)).status, 200);
  // The same answer as a metric, for alerting rules: up but unready.
  assert.match(await (await fetch(`${gateway.adminUrl}/metrics`)).text(), /^scopegate_ready 0$/m);

  const res = await fetch(`${gateway.url}/api/v1/query`, { headers: { authorization: 'Bearer anything' } });
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { code: string }).code, 'token_set_unavailable');
  assert.equal(upstream.requests.length, 0);
});

test('/metrics counts requests by tenant, upstream, endpoint and code; the access log has one line each, without the token', async (t) => {
  const upstream = await startRecordingUpstream();
  const tokens = await createTempTokenFile({ 'secret-token-value': 'tenant-a' });
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'main', match: '.*', upstream: upstream.url }] },
  });
  t.after(async () => {
    await gateway.stop();
    await upstream.stop();
    await tokens.remove();
  });
  for (let i = 0; i < 2; i++) {
    assert.equal((await fetch(`${gateway.url}/api/v1/labels`, { headers: { authorization: 'Bearer secret-token-value' } })).status, 200);
  }
  assert.equal((await fetch(`${gateway.url}/api/v1/labels`, { headers: { authorization: 'Bearer wrong-token-value' } })).status, 401);
  // Nothing of the proxy API is served on the admin port, nor the reverse.
  assert.equal((await fetch(`${gateway.adminUrl}/api/v1/labels`)).status, 404);

  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.match(metrics, /scopegate_requests_total\{tenant="tenant-a",upstream="main",endpoint="raw.read",code="200"\} 2/);
  assert.match(metrics, /scopegate_requests_total\{tenant="none",upstream="none",endpoint="none",code="401"\} 1/);
  assert.match(metrics, /scopegate_request_duration_seconds_count\{upstream="main",endpoint="raw.read"\} 2/);
  assert.match(metrics, /scopegate_denials_total\{code="invalid_token"\} 1/);
  assert.match(metrics, /scopegate_secret_age_seconds\{source="file"\}/);
  assert.doesNotMatch(metrics, /token-value/);

  const accessLines = gateway.logs.filter((line) => line.msg === 'request');
  assert.equal(accessLines.length, 3);
  assert.deepEqual(
    accessLines.map(({ status, tenant, upstream: name, code }) => ({ status, tenant, upstream: name, code })),
    [
      { status: 200, tenant: 'tenant-a', upstream: 'main', code: undefined },
      { status: 200, tenant: 'tenant-a', upstream: 'main', code: undefined },
      { status: 401, tenant: undefined, upstream: undefined, code: 'invalid_token' },
    ],
  );
  for (const line of accessLines) assert.equal(typeof line.durationMs, 'number');
  assert.doesNotMatch(JSON.stringify(gateway.logs), /token-value/);
});

test('with [admin] listen equal to the proxy listen, one port serves both', async (t) => {
  const upstream = await startRecordingUpstream();
  const tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  const listen = `127.0.0.1:${await findFreePort()}`;
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    admin: { listen },
    proxy: { listen, upstreams: [{ match: '.*', upstream: upstream.url }] },
  });
  t.after(async () => {
    await gateway.stop();
    await upstream.stop();
    await tokens.remove();
  });
  assert.equal(gateway.adminUrl, gateway.url);
  const ready = await fetch(`${gateway.url}/ready`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  assert.match(await (await fetch(`${gateway.url}/metrics`)).text(), /^scopegate_ready 1$/m);
  assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${gateway.url}/api/v1/query`, { headers: { authorization: 'Bearer tok-a' } })).status, 200);
  assert.match(await (await fetch(`${gateway.url}/metrics`)).text(), /scopegate_requests_total\{tenant="tenant-a"/);
  assert.equal(upstream.requests.length, 1, 'admin paths are answered by the gateway, not proxied');
});
