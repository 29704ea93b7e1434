import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';

// Issue #2, request path step 4: upstreams sorted by priority (desc), the first whose `match` fully matches
// the Host without its port; no match → 404 JSON; optional path_prefix per upstream.
const fixture = gatewayFixture({
  tokens: { 'tok-a': 'tenant-a', 'tok-limited': { tenant: 'tenant-a', namespace: 'team-a' } },
  upstreams: { loki: {}, other: {} },
  config: (_, { loki, other }) => ({
    proxy: {
      upstreams: [
        // Listed before the more specific route on purpose: priority, not config order, decides.
        { name: 'wildcard', match: '.*\\.example\\.com', upstream: other, priority: 10 },
        { name: 'loki', match: 'loki\\.example\\.com', upstream: loki, priority: 100 },
        { name: 'tie-first', match: 'tie\\.example\\.org', upstream: loki, priority: 5 },
        { name: 'tie-second', match: 'tie\\.example\\.org', upstream: other, priority: 5 },
        { name: 'api-loki', match: 'api\\.example\\.org', upstream: loki, path_prefix: '/loki', priority: 1 },
        { name: 'api-rest', match: 'api\\.example\\.org', upstream: other, priority: 0 },
        { name: 'raw-opted-in', match: 'opted-in\\.example\\.org', upstream: other, allow_unenforced_policy: true },
      ],
    },
  }),
});

function send(host: string, path = '/ready') {
  return sendRaw(fixture.gateway.url, { path, headers: { host, authorization: 'Bearer tok-a' } });
}

/** Which upstream received the one request, and with what path and tenant. */
function receiver(): { name: 'loki' | 'other'; url: string; tenant: unknown } {
  const all = [
    ...fixture.upstreams.loki.requests.map((r) => ({ name: 'loki' as const, r })),
    ...fixture.upstreams.other.requests.map((r) => ({ name: 'other' as const, r })),
  ];
  assert.equal(all.length, 1, 'exactly one upstream request');
  const { name, r } = all[0]!;
  return { name, url: r.url, tenant: r.headers['x-scope-orgid'] };
}

test('the highest priority match wins, whatever the config order', async () => {
  assert.equal((await send('loki.example.com')).status, 200);
  assert.deepEqual(receiver(), { name: 'loki', url: '/ready', tenant: 'tenant-a' });
});

test('the Host port is ignored and the match is case-insensitive', async () => {
  for (const host of ['loki.example.com:8000', 'LoKi.EXAMPLE.com', 'loki.example.com:443']) {
    fixture.upstreams.loki.reset();
    assert.equal((await send(host)).status, 200, host);
    assert.equal(receiver().name, 'loki', host);
  }
});

test('the regex must match the whole host name', async () => {
  assert.equal((await send('grafana.example.com')).status, 200);
  assert.equal(receiver().name, 'other');
  fixture.upstreams.other.reset();
  assert.equal((await send('xloki.example.com')).status, 200);
  assert.equal(receiver().name, 'other', 'a prefix before the pattern is not the loki route');
  fixture.upstreams.other.reset();
  const suffixed = await send('loki.example.com.attacker.net');
  assert.equal(suffixed.status, 404, 'a suffix after the pattern matches nothing');
});

test('a fully qualified name (trailing dot) takes the same route as the name', async () => {
  for (const host of ['loki.example.com.', 'LOKI.example.com.:8000']) {
    fixture.upstreams.loki.reset();
    assert.equal((await send(host)).status, 200, host);
    assert.equal(receiver().name, 'loki', host);
  }
});

test('a Host that is not a host name is a 400, never matched against a wider route', async () => {
  // `.*\.example\.com` would match each of these whole, and send them past the loki route to the wildcard.
  for (const host of [
    'anyone@fixture.upstreams.loki.example.com',
    'loki.example.com:80@x.example.com',
    'loki%2eexample.com',
    'loki..example.com',
    'loki.example.com:http',
  ]) {
    const res = await send(host);
    assert.equal(res.status, 400, host);
    assert.equal(res.json().code, 'invalid_host', host);
  }
  assert.equal(fixture.upstreams.loki.requests.length + fixture.upstreams.other.requests.length, 0);
});

test('equal priorities keep the config order', async () => {
  assert.equal((await send('tie.example.org')).status, 200);
  assert.equal(receiver().name, 'loki');
});

test('no matching upstream → 404 JSON, and nothing is forwarded', async () => {
  const res = await send('unknown.example.net', '/api/v1/query');
  assert.equal(res.status, 404);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.json().code, 'no_upstream');
  assert.equal(fixture.upstreams.loki.requests.length + fixture.upstreams.other.requests.length, 0);
});

test('path_prefix selects the route and is stripped; other paths fall to the next route for the host', async () => {
  assert.equal((await send('api.example.org', '/loki/api/v1/push')).status, 200);
  assert.deepEqual(receiver(), { name: 'loki', url: '/api/v1/push', tenant: 'tenant-a' });
  fixture.upstreams.loki.reset();
  assert.equal((await send('api.example.org', '/lokix/api')).status, 200);
  assert.deepEqual(receiver(), { name: 'other', url: '/lokix/api', tenant: 'tenant-a' });
});

test('routing is on the Host, never on an X-Forwarded-Host the client sends', async () => {
  const res = await sendRaw(fixture.gateway.url, {
    path: '/ready',
    headers: { host: 'grafana.example.com', 'x-forwarded-host': 'loki.example.com', authorization: 'Bearer tok-a' },
  });
  assert.equal(res.status, 200);
  assert.equal(receiver().name, 'other');
});

test('a raw route refuses an identity limited by a label policy (it could read its whole tenant there) unless opted in', async () => {
  const refused = await sendRaw(fixture.gateway.url, {
    path: '/api/v1/query?query=up',
    headers: { host: 'loki.example.com', authorization: 'Bearer tok-limited' },
  });
  assert.equal(refused.status, 403, refused.body.toString());
  assert.equal(refused.json().code, 'full_access_required');
  assert.equal(fixture.upstreams.loki.requests.length + fixture.upstreams.other.requests.length, 0, 'nothing was forwarded');

  const optedIn = await sendRaw(fixture.gateway.url, {
    path: '/api/v1/query?query=up',
    headers: { host: 'opted-in.example.org', authorization: 'Bearer tok-limited' },
  });
  assert.equal(optedIn.status, 200, optedIn.body.toString());
  assert.deepEqual(receiver(), { name: 'other', url: '/api/v1/query?query=up', tenant: 'tenant-a' });
});
