import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';

// Issue #2, request path step 2: the path is decoded and normalised once, and the gateway routes on the same
// path the upstream will see. Sent through node:http with a raw target: fetch would normalise it first.
const fixture = gatewayFixture({
  tokens: { 'tok-a': 'tenant-a' },
  config: (upstream) => ({
    proxy: {
      upstreams: [
        // Only /prom/... on this host is proxied, to the upstream mounted at /base.
        { name: 'prefixed', match: 'prefix\\.example', upstream: `${upstream}/base`, path_prefix: '/prom', priority: 10 },
        { name: 'default', match: 'default\\.example', upstream },
      ],
    },
  }),
});

function send(path: string, host = 'default.example') {
  return sendRaw(fixture.gateway.url, { path, headers: { host, authorization: 'Bearer tok-a' } });
}

async function assertForwardedAs(path: string, expected: string, host?: string): Promise<void> {
  fixture.upstream.reset();
  const res = await send(path, host);
  assert.equal(res.status, 200, `${path}: ${res.body.toString()}`);
  assert.equal(fixture.upstream.requests.length, 1, path);
  assert.equal(fixture.upstream.requests[0]?.url, expected, path);
}

async function assertRefused(path: string, status: number, code: string, host?: string): Promise<void> {
  fixture.upstream.reset();
  const res = await send(path, host);
  assert.equal(res.status, status, `${path}: ${res.body.toString()}`);
  assert.equal(res.json().code, code, path);
  assert.equal(fixture.upstream.requests.length, 0, `${path} reached the upstream`);
}

test('".." that climbs above the root is refused with 400, plain or percent-encoded', async () => {
  for (const path of ['/..', '/../etc/passwd', '/api/../../etc/passwd', '/%2e%2e/etc/passwd', '/api/%2E%2e/%2e./x', '/.%2e/x']) {
    await assertRefused(path, 400, 'bad_request_path');
  }
});

test('dot segments and "//" are resolved before routing; the upstream receives the normalised path', async () => {
  await assertForwardedAs('/api/v1/../v1/query?query=up', '/api/v1/query?query=up');
  await assertForwardedAs('/api/%2e%2e/api/v1/./query', '/api/v1/query');
  await assertForwardedAs('//api///v1//query', '/api/v1/query');
  await assertForwardedAs('/api/v1/%71uery', '/api/v1/query');
});

test('the query string is passed through as sent (its parameters are not paths)', async () => {
  await assertForwardedAs('/api/v1/query?query=up%2F..%2F&x=/../', '/api/v1/query?query=up%2F..%2F&x=/../');
});

test('characters outside pchar are re-encoded so the upstream decodes the same path', async () => {
  await assertForwardedAs('/api/v1/label/a%20b/values', '/api/v1/label/a%20b/values');
  await assertForwardedAs('/api/v1/label/%C3%A9/values', '/api/v1/label/%C3%A9/values');
  await assertForwardedAs('/api/v1/series%3Fmatch=x', '/api/v1/series%3Fmatch=x');
});

test('an encoded "/", "\\" or NUL in the path is refused with 400', async () => {
  for (const path of ['/api/v1%2Fquery', '/api/v1%2fquery', '/prom/..%2f..%2fadmin', '/api%5c..%5cadmin', '/api/v1/query%00']) {
    await assertRefused(path, 400, 'bad_request_path');
  }
});

test('a raw "\\" is refused like an encoded one, so a path_prefix cannot be escaped through an upstream that reads it as "/"', async () => {
  await assertRefused('/prom/..\\..\\admin', 400, 'bad_request_path', 'prefix.example');
  await assertRefused('/api\\v1\\query', 400, 'bad_request_path');
});

test('malformed percent-encoding and targets not in origin form are refused with 400', async () => {
  await assertRefused('/api/v1/%zzquery', 400, 'bad_request_path');
  await assertRefused('/api/v1/%C3', 400, 'bad_request_path');
  await assertRefused('http://evil.example/api/v1/query', 400, 'bad_request_target');
});

test('a path_prefix route strips the prefix and mounts the rest under the upstream URL path', async () => {
  await assertForwardedAs('/prom/api/v1/query?query=up', '/base/api/v1/query?query=up', 'prefix.example');
  await assertForwardedAs('/prom', '/base/', 'prefix.example');
  await assertForwardedAs('//prom//api/./v1/query', '/base/api/v1/query', 'prefix.example');
});

test('a path_prefix route cannot be escaped with ".." or matched by a longer segment', async () => {
  for (const path of ['/prom/../admin', '/prom/%2e%2e/admin', '/prom/api/../../admin', '/prometheus/api/v1/query', '/admin']) {
    await assertRefused(path, 404, 'no_upstream', 'prefix.example');
  }
  await assertRefused('/prom/../../admin', 400, 'bad_request_path', 'prefix.example');
});
