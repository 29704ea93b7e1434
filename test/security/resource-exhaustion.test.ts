import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';
import type { RecordedRequest } from '../servers/recording-upstream.js';

// One request must not be able to stop the gateway for everyone: it runs on one event loop, so a query that
// makes a parser recurse, or a value that makes a backtracking regex explode, is a denial of service to every
// tenant. Policy regexes are RE2 (linear time); the gateway checks some of them with JavaScript's
// backtracking engine, where `([a-z]+-?)+` against "aaaa…!" takes 2^n steps — with n chosen by the caller.

const NESTED_QUANTIFIER_POLICY = '([a-z]+-?)+';
const HOSTILE_VALUE = `${'a'.repeat(64)}!`;
function answer(request: RecordedRequest, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  if (request.url.startsWith('/api/v1/alerts')) {
    const alerts = [
      { labels: { alertname: 'Mine', namespace: 'team-a' }, state: 'firing', value: '1' },
      { labels: { alertname: 'Hostile', namespace: HOSTILE_VALUE }, state: 'firing', value: '1' },
    ];
    res.end(JSON.stringify({ status: 'success', data: { alerts } }));
  } else {
    res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
  }
}

const fixture = gatewayFixture({
  tokens: {
    'tok-a': { tenant: 'tenant-a', namespace: 'team-a' },
    'tok-nested': { tenant: 'tenant-a', namespaces: [NESTED_QUANTIFIER_POLICY] },
  },
  upstream: { handler: answer },
  config: (upstream) => ({
    log_level: 'warn',
    proxy: {
      max_body_bytes: 4 * 1024 * 1024,
      upstreams: [{ name: 'prom', match: '.*', upstream, type: 'prometheus' }],
    },
  }),
});

function query(token: string, expr: string) {
  return sendRaw(fixture.gateway.url, {
    path: `/api/v1/query?${new URLSearchParams({ query: expr })}`,
    headers: { authorization: `Bearer ${token}` },
  });
}

function postQuery(token: string, expr: string) {
  const body = new URLSearchParams({ query: expr }).toString();
  return sendRaw(fixture.gateway.url, {
    method: 'POST',
    path: '/api/v1/query',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(body.length),
    },
    body,
  });
}

function sentQuery(): string | null {
  const url = fixture.upstream.requests[0]?.url ?? '';
  return new URLSearchParams(url.split('?')[1] ?? '').get('query');
}

test("a policy regex with a nested quantifier is never run by the backtracking engine on a caller's value", async () => {
  // The caller's equality cannot be proven inside the policy without running the regex: it is replaced by the
  // policy's own matcher, which Prometheus evaluates with RE2.
  const res = await query('tok-nested', 'x{namespace="abc"}');
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(sentQuery(), `x{namespace=~"${NESTED_QUANTIFIER_POLICY}"}`);
});

test('a hostile label value against that policy is answered, and the gateway keeps serving', async () => {
  const res = await query('tok-nested', `x{namespace="${HOSTILE_VALUE}"}`);
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(sentQuery(), `x{namespace=~"${NESTED_QUANTIFIER_POLICY}"}`);
  assert.equal((await query('tok-a', 'up')).status, 200);
});

test('a hostile label value in an upstream answer is filtered without running the regex on it', async () => {
  const res = await sendRaw(fixture.gateway.url, { path: '/api/v1/alerts', headers: { authorization: 'Bearer tok-nested' } });
  assert.equal(res.status, 200, res.body.toString());
  assert.ok(!res.body.toString().includes(HOSTILE_VALUE));
});

test('10k nested parentheses are a 400, not a stack overflow', async () => {
  const res = await postQuery('tok-a', `${'('.repeat(10_000)}x${')'.repeat(10_000)}`);
  assert.equal(res.status, 400, res.body.toString());
  assert.equal(res.json<{ code: string }>().code, 'query_parse_error');
  assert.equal(fixture.upstream.requests.length, 0);
  assert.equal((await query('tok-a', 'up')).status, 200);
});

test('100k selectors in one query are refused, not sent half-enforced', async () => {
  const res = await postQuery('tok-a', Array.from({ length: 100_000 }, (_, i) => `m${i}`).join(' or '));
  assert.equal(res.status, 400, res.body.toString());
  assert.equal(fixture.upstream.requests.length, 0);
});
