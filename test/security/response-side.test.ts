import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';
import type { RecordedRequest } from '../servers/recording-upstream.js';

// What comes back: a response the gateway must filter has to be filtered whatever the upstream does
// (compressed anyway, not JSON, a redirect), and every upstream that serves alert instances must cut them to
// the policy, since alert labels are series labels.

const ALERTS = {
  status: 'success',
  data: {
    alerts: [
      { labels: { alertname: 'DiskFull', namespace: 'team-a' }, state: 'firing', value: '1' },
      { labels: { alertname: 'DbDown', namespace: 'team-b', db: 'team-b-payments' }, state: 'firing', value: '1' },
    ],
  },
};
const RULES = {
  status: 'success',
  data: {
    groups: [
      {
        name: 'team-a',
        file: 'a.yaml',
        rules: [
          {
            type: 'alerting',
            name: 'DiskFull',
            query: 'count_over_time({namespace="team-a"}[5m]) > 0',
            labels: { namespace: 'team-a' },
            alerts: [{ labels: { namespace: 'team-a' } }],
          },
        ],
      },
      {
        name: 'team-b',
        file: 'b.yaml',
        rules: [
          {
            type: 'alerting',
            name: 'DbDown',
            query: 'count_over_time({namespace="team-b"}[5m]) > 0',
            labels: { namespace: 'team-b' },
            alerts: [{ labels: { namespace: 'team-b', db: 'team-b-payments' } }],
          },
        ],
      },
    ],
  },
};

function answer(request: RecordedRequest, res: ServerResponse): void {
  const path = request.url.split('?')[0] ?? '';
  if (request.headers['x-test-answer'] === 'gzip') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify(ALERTS)));
  } else if (request.headers['x-test-answer'] === 'html') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>team-b-payments</html>');
  } else if (request.headers['x-test-answer'] === 'redirect') {
    res.writeHead(302, { location: 'http://10.0.0.7:9090/api/v1/alerts' });
    res.end();
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(path.endsWith('/alerts') ? ALERTS : RULES));
  }
}

const fixture = gatewayFixture({
  tokens: {
    'tok-a': { tenant: 'tenant-a', namespace: 'team-a' },
    'tok-tenant': 'tenant-a',
  },
  upstream: { handler: answer },
  config: (upstream) => ({
    log_level: 'warn',
    proxy: {
      upstreams: [
        { name: 'prom', match: 'prom\\.example', upstream, priority: 1, type: 'prometheus' },
        { name: 'loki', match: 'loki\\.example', upstream, priority: 1, type: 'loki' },
        { name: 'mimir', match: '.*', upstream, type: 'mimir' },
      ],
    },
  }),
});

function get(host: string, path: string, token: string, headers: Record<string, string> = {}) {
  return sendRaw(fixture.gateway.url, { path, headers: { host, authorization: `Bearer ${token}`, ...headers } });
}

for (const [host, path] of [
  ['loki.example', '/prometheus/api/v1/alerts'],
  ['loki.example', '/prometheus/api/v1/rules'],
  ['mimir.example', '/prometheus/api/v1/alerts'],
  ['mimir.example', '/prometheus/api/v1/rules'],
  ['prom.example', '/api/v1/alerts'],
  ['prom.example', '/api/v1/rules'],
] as const) {
  test(`${host}${path}: a limited identity sees only its own rules and alerts`, async () => {
    const res = await get(host, path, 'tok-a');
    assert.equal(res.status, 200, res.body.toString());
    const text = res.body.toString();
    assert.ok(!text.includes('team-b'), `another namespace's alert leaked: ${text}`);
    assert.ok(text.includes('team-a'), 'the identity still sees its own');
  });
}

test('Loki ruler answers go unchanged to a tenant-wide identity (no label policy)', async () => {
  const res = await get('loki.example', '/prometheus/api/v1/alerts', 'tok-tenant');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json(), ALERTS);
});

// An upstream answer the gateway cannot filter is the upstream's fault: 502 with the gateway's own JSON, and
// nothing of the upstream's body relayed, on every preset that filters.
for (const [host, path] of [
  ['prom.example', '/api/v1/alerts'],
  ['mimir.example', '/prometheus/api/v1/alerts'],
  ['loki.example', '/prometheus/api/v1/alerts'],
] as const) {
  test(`${host}${path}: a filtered endpoint asks for identity encoding; a compressed answer anyway is a 502, never passed through`, async () => {
    const res = await get(host, path, 'tok-a', { 'accept-encoding': 'gzip', 'x-test-answer': 'gzip' });
    assert.equal(fixture.upstream.requests[0]?.headers['accept-encoding'], 'identity');
    assert.equal(res.status, 502, res.body.toString());
    assert.equal(res.json().code, 'upstream_bad_response');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.ok(!res.body.includes(gzipSync(JSON.stringify(ALERTS)).subarray(0, 10)));
  });

  test(`${host}${path}: a 200 that is not JSON on a filtered endpoint is a 502 and its body is not relayed`, async () => {
    const res = await get(host, path, 'tok-a', { 'x-test-answer': 'html' });
    assert.equal(res.status, 502, res.body.toString());
    assert.equal(res.json().code, 'upstream_bad_response');
    assert.equal(res.headers['content-type']?.startsWith('application/json'), true);
    assert.ok(!res.body.toString().includes('team-b'));
  });
}

test('an upstream redirect is relayed, not followed by the gateway', async () => {
  const res = await get('prom.example', '/api/v1/alerts', 'tok-a', { 'x-test-answer': 'redirect' });
  assert.equal(res.status, 302);
  assert.equal(fixture.upstream.requests.length, 1);
});
