import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/config.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS } from '../servers/remote-write-body.js';
import { encodeLengthDelimited } from '../../src/enforce/write/protobuf-wire-reader.js';
import { compressSnappy } from '../../src/enforce/write/snappy-codec.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #14: per-identity and per-tenant limits with the memory backend, through real sockets. Time is an
// injected clock, so "wait for the bucket to refill" is a clock step, not a sleep.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;
let nowMs = Date.UTC(2026, 10, 29, 12);
const clock = { now: () => nowMs };

const RULES = [
  // Per identity, on the raw route: 0.5 requests/s, 2 at once.
  { name: 'raw-rate', per: 'identity', upstreams: ['raw'], subjects: ['dash', 'other'], rate: 0.5, burst: 2 },
  // Per tenant, on the slow route: 2 in flight.
  { name: 'slow-concurrency', per: 'tenant', upstreams: ['slow'], concurrency: 2 },
  {
    name: 'prom-cost',
    upstreams: ['prom'],
    endpoints: ['read'],
    max_range: '1d',
    min_step: '15s',
    max_points: 1000,
    max_query_bytes: 200,
    max_lookback: '1h',
  },
  { name: 'loki-cost', upstreams: ['loki'], max_range: '6h', max_points: 500 },
  { name: 'tempo-cost', upstreams: ['tempo'], max_range: '6h', min_step: '15s', max_points: 500, max_query_bytes: 100 },
  { name: 'write-size', endpoints: ['prometheus.remote_write', 'loki.push'], max_body_bytes: 2000, max_series: 2 },
  // Per tenant set, on the federating Mimir route: one request per 1000 s.
  { name: 'fed-set', per: 'tenant', upstreams: ['fed'], rate: 0.001, burst: 1 },
];

function gatewayConfig(rules: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    backend_type: 'file',
    file: { path: tokens.path },
    limits: { rules },
    proxy: {
      upstreams: [
        { name: 'slow', match: 'slow\\.example', upstream: upstream.url, priority: 10 },
        { name: 'prom', match: 'prom\\.example', upstream: upstream.url, priority: 10, type: 'prometheus', allow_write: true },
        { name: 'loki', match: 'loki\\.example', upstream: upstream.url, priority: 10, type: 'loki' },
        { name: 'tempo', match: 'tempo\\.example', upstream: upstream.url, priority: 10, type: 'tempo' },
        { name: 'fed', match: 'fed\\.example', upstream: upstream.url, priority: 10, type: 'mimir', allow_federation: true },
        { name: 'raw', match: '.*', upstream: upstream.url },
      ],
    },
  };
}

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({
    'tok-dash': { tenant: 'team-a', name: 'dash' },
    'tok-ns': { tenant: 'team-a', name: 'ns', namespaces: ['team-a'] },
    'tok-other': { tenant: 'team-a', name: 'other' },
    'tok-b': { tenant: 'team-b', name: 'bee' },
    'tok-fed': { tenants: ['fed-a', 'fed-b', 'fed-c'], name: 'fed' },
  });
  gateway = await startTestGateway(gatewayConfig(RULES), { clock });
});

after(async () => {
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

beforeEach(() => {
  upstream.reset();
  upstream.setHandler((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":[]}');
  });
  nowMs += 3_600_000; // every bucket back at rest
});

function get(token: string, path = '/api/v1/labels', host = 'raw.example'): Promise<RawResponse> {
  return sendRaw(gateway.url, { path, headers: { authorization: `Bearer ${token}`, host } });
}

function assertRefused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(res.json().code, code);
}

async function metricsText(): Promise<string> {
  return (await fetch(`${gateway.adminUrl}/metrics`)).text();
}

test('a burst over the rate is 429 rate_limited with Retry-After, and the same client passes once it has waited', async () => {
  assert.equal((await get('tok-dash')).status, 200);
  assert.equal((await get('tok-dash')).status, 200);
  const refused = await get('tok-dash');
  assertRefused(refused, 429, 'rate_limited');
  // 0.5/s with a burst of 2: the third request may go 2 s after the first two.
  assert.equal(refused.headers['retry-after'], '2');
  assert.equal(refused.json().status, 'error', 'the Prometheus error shape on an /api/v1/ path');
  assert.equal(refused.json().errorType, 'too_many_requests');
  assert.equal(upstream.requests.length, 2, 'the refused request never reached the upstream');
  // Another identity of the same tenant has its own bucket (per = "identity").
  assert.equal((await get('tok-other')).status, 200);

  nowMs += 1999;
  const stillEarly = await get('tok-dash');
  assertRefused(stillEarly, 429, 'rate_limited');
  assert.equal(stillEarly.headers['retry-after'], '1', 'rounded up, never 0');
  nowMs += 1;
  assert.equal((await get('tok-dash')).status, 200);

  const line = gateway.logs.find((l) => l.msg === 'request' && l.code === 'rate_limited');
  assert.equal(line?.limit, 'raw-rate');
  assert.equal(line?.subject, 'dash');
  assert.match(await metricsText(), /scopegate_limited_total\{tenant="team-a",limit="rate"\} 2/);
});

test('identities no rule matches are not limited', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await get('tok-b')).status, 200);
});

test('N+1 slow requests against a slow upstream: the last is 429 concurrency_limited, and a slot frees when one ends', async () => {
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  let waiting = new Promise<void>((resolve) => (arrived = resolve));
  upstream.setHandler((_request, res) => {
    held.push(res);
    arrived();
  });
  const first = get('tok-dash', '/slow', 'slow.example');
  await waiting;
  waiting = new Promise<void>((resolve) => (arrived = resolve));
  // The rule counts per tenant: another identity of team-a shares the two slots.
  const second = get('tok-other', '/slow', 'slow.example');
  await waiting;
  const third = await get('tok-dash', '/slow', 'slow.example');
  assertRefused(third, 429, 'concurrency_limited');
  assert.equal(third.headers['retry-after'], '1');
  assert.equal(upstream.requests.length, 2);
  assert.match(await metricsText(), /scopegate_limit_in_flight\{rule="slow-concurrency"\} 2/);
  // team-b has its own slots.
  upstream.setHandler((_request, res) => {
    res.writeHead(200).end('ok');
  });
  assert.equal((await get('tok-b', '/slow', 'slow.example')).status, 200);

  held.shift()?.writeHead(200).end('done');
  assert.equal((await first).status, 200);
  assert.equal((await get('tok-dash', '/slow', 'slow.example')).status, 200, 'the freed slot is usable');
  held.shift()?.writeHead(200).end('done');
  assert.equal((await second).status, 200);
  assert.match(await metricsText(), /scopegate_limit_in_flight\{rule="slow-concurrency"\} 0/);
});

function promRange(params: Record<string, string>, path = '/api/v1/query_range'): Promise<RawResponse> {
  return get('tok-ns', `${path}${path.includes('?') ? '&' : '?'}${new URLSearchParams(params)}`, 'prom.example');
}

test('PromQL query_range: span, step and points per series are guarded on what is sent', async () => {
  const day = 86_400;
  const ok = await promRange({ query: 'up', start: '0', end: String(day), step: '120' });
  assert.equal(ok.status, 200, ok.body.toString());
  assertRefused(await promRange({ query: 'up', start: '0', end: String(day + 1), step: '120' }), 422, 'query_range_too_long');
  assertRefused(await promRange({ query: 'up', start: '0', end: '3600', step: '10s' }), 422, 'step_too_small');
  const points = await promRange({ query: 'up', start: '1970-01-01T00:00:00Z', end: '1970-01-01T06:00:00Z', step: '15s' });
  assertRefused(points, 422, 'too_many_points');
  assert.equal(points.json().errorType, 'bad_data');
  // A second, unchecked copy of `end` cannot slip through: every occurrence counts.
  assertRefused(
    await promRange({ query: 'up', start: '0', end: '60', step: '60' }, `/api/v1/query_range?end=${day * 30}`),
    422,
    'query_range_too_long',
  );
  assertRefused(await promRange({ query: 'up', start: 'yesterday', end: '60', step: '60' }), 400, 'invalid_time_range');
  assert.equal(upstream.requests.length, 1, 'only the request within every guard reached the upstream');
});

test('PromQL query length and instant-query lookback', async () => {
  assertRefused(await promRange({ query: `up{job="${'x'.repeat(200)}"}` }, '/api/v1/query'), 422, 'query_too_long');
  assertRefused(await promRange({ query: 'rate(up[2h])' }, '/api/v1/query'), 422, 'lookback_too_long');
  assertRefused(await promRange({ query: 'rate(up[30m] offset 31m)' }, '/api/v1/query'), 422, 'lookback_too_long');
  assertRefused(await promRange({ query: 'max_over_time(rate(up[5m])[2h:1m])' }, '/api/v1/query'), 422, 'lookback_too_long');
  const ok = await promRange({ query: 'rate(up{job="[9h]"}[1h])' }, '/api/v1/query');
  assert.equal(ok.status, 200, 'a bracket inside a string is not a range');
  assert.match(await metricsText(), /scopegate_limited_total\{tenant="team-a",limit="lookback_too_long"\} 3/);
});

test('LogQL query_range: span (with Loki defaults and nanosecond times) and points', async () => {
  const lokiRange = (params: Record<string, string>) =>
    get('tok-ns', `/loki/api/v1/query_range?${new URLSearchParams({ query: '{app="x"}', ...params })}`, 'loki.example');
  const hourNs = 3_600_000_000_000n;
  assert.equal((await lokiRange({ start: String(hourNs), end: String(7n * hourNs), step: '60' })).status, 200);
  assertRefused(await lokiRange({ start: String(hourNs), end: String(8n * hourNs), step: '60' }), 422, 'query_range_too_long');
  assertRefused(await lokiRange({ start: '3600', end: '25200', step: '30s' }), 422, 'too_many_points');
  // Without start and end Loki reads the last hour: within the guard.
  assert.equal((await lokiRange({})).status, 200);
  assertRefused(await lokiRange({ since: '1h', start: '2026-11-28T00:00:00Z', end: '2026-11-29T00:00:00Z' }), 422, 'query_range_too_long');
});

test('Tempo search and TraceQL metrics query_range: span, step, points and query bytes, before the upstream', async () => {
  const tempo = (path: string, params: Record<string, string>) =>
    get('tok-dash', `${path}?${new URLSearchParams(params)}`, 'tempo.example');
  const search = await tempo('/api/search', { q: '{ .service.name = "a" }', start: '3600', end: String(7 * 3600) });
  assert.equal(search.status, 200, search.body.toString());
  assertRefused(await tempo('/api/search', { q: '{}', start: '3600', end: String(7 * 3600 + 1) }), 422, 'query_range_too_long');
  assertRefused(await tempo('/api/search', { q: `{ .service.name = "${'x'.repeat(100)}" }` }), 422, 'query_too_long');
  assertRefused(await tempo('/api/search', { q: '{}', start: '3600' }), 400, 'invalid_time_range');
  const hourNs = 3_600_000_000_000n;
  assertRefused(
    await tempo('/api/metrics/query_range', { q: '{} | rate()', start: String(hourNs), end: String(8n * hourNs), step: '60s' }),
    422,
    'query_range_too_long',
  );
  assertRefused(await tempo('/api/metrics/query_range', { q: '{} | rate()', start: '0', end: '3600', step: '5s' }), 422, 'step_too_small');
  assertRefused(
    await tempo('/api/metrics/query_range', { q: '{} | rate()', start: '0', end: String(6 * 3600), step: '15s' }),
    422,
    'too_many_points',
  );
  assertRefused(
    await tempo('/api/metrics/query_range', { q: '{} | rate()', start: 'now-1h', end: '3600', step: '60s' }),
    400,
    'invalid_time_range',
  );
  assert.equal((await tempo('/api/metrics/query_range', { q: '{} | rate()', start: '0', end: '3600', step: '60s' })).status, 200);
  assert.deepEqual(
    upstream.requests.map((r) => r.url.split('?')[0]),
    ['/api/search', '/api/metrics/query_range'],
    'only the two allowed requests arrived',
  );
});

test("Loki's since cannot get round max_range: refused as the same range given as start is, and never forwarded", async () => {
  const lokiRange = (params: Record<string, string>) =>
    get('tok-ns', `/loki/api/v1/query_range?${new URLSearchParams({ query: '{app="x"}', ...params })}`, 'loki.example');
  const thirtyDaysAgo = String(Math.floor(nowMs / 1000) - 30 * 86_400);
  assertRefused(await lokiRange({ start: thirtyDaysAgo }), 422, 'query_range_too_long');
  assertRefused(await lokiRange({ since: '30d' }), 422, 'query_range_too_long');
  // A past end moves the window back, it does not shrink what since asks for.
  assertRefused(await lokiRange({ since: '7h', end: String(Math.floor(nowMs / 1000) - 86_400) }), 422, 'query_range_too_long');
  assert.equal((await lokiRange({ since: '5h' })).status, 200);
  assert.equal(upstream.requests.length, 1, 'only the request within max_range reached Loki');
  assert.match(upstream.requests[0]?.url ?? '', /since=5h/);
});

test("Tempo: the metrics API's since is guarded as Loki's; search reads no since, so it counts as the last hour", async () => {
  const tempo = (path: string, params: Record<string, string>) =>
    get('tok-dash', `${path}?${new URLSearchParams(params)}`, 'tempo.example');
  assertRefused(await tempo('/api/metrics/query_range', { q: '{} | rate()', since: '30d', step: '1h' }), 422, 'query_range_too_long');
  assertRefused(await tempo('/api/metrics/query', { q: '{} | rate()', since: '30d' }), 422, 'query_range_too_long');
  assert.equal((await tempo('/api/metrics/query', { q: '{} | rate()', since: '5h' })).status, 200);
  assert.equal((await tempo('/api/search', { q: '{}', since: '30d' })).status, 200);
  assert.deepEqual(
    upstream.requests.map((r) => r.url.split('?')[0]),
    ['/api/metrics/query', '/api/search'],
  );
});

test('per = "tenant" counts a federated tenant set as a set: fed-a|fed-b and fed-b|fed-a share one budget', async () => {
  const asTenants = (orgId: string) =>
    sendRaw(gateway.url, {
      path: '/prometheus/api/v1/labels',
      headers: { authorization: 'Bearer tok-fed', host: 'fed.example', 'x-scope-orgid': orgId },
    });
  assert.equal((await asTenants('fed-a|fed-b')).status, 200);
  assertRefused(await asTenants('fed-b|fed-a'), 429, 'rate_limited');
  assertRefused(await asTenants('fed-b|fed-a|fed-b'), 429, 'rate_limited');
  // Another set is another budget.
  assert.equal((await asTenants('fed-a|fed-c')).status, 200);
  assert.deepEqual(
    upstream.requests.map((r) => r.headers['x-scope-orgid']),
    ['fed-a|fed-b', 'fed-a|fed-c'],
    'sent as the client ordered them',
  );
  assert.match(await metricsText(), /scopegate_limited_total\{tenant="fed-a\|fed-b",limit="rate"\} 2/);
});

test('write size: remote write body bytes and series, Loki push streams', async () => {
  const series = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', namespace: 'team-a', i: String(i) }, samples: [[1, 1000] as const] }));
  const write = (body: Buffer) =>
    sendRaw(gateway.url, {
      method: 'POST',
      path: '/api/v1/write',
      body,
      headers: { authorization: 'Bearer tok-ns', host: 'prom.example', ...REMOTE_WRITE_HEADERS },
    });
  assert.equal((await write(encodeWriteRequest(series(2)))).status, 200);
  assertRefused(await write(encodeWriteRequest(series(3))), 422, 'too_many_series');
  const big = encodeWriteRequest([
    { labels: { __name__: 'm', namespace: 'team-a', pad: randomBytes(1500).toString('hex') }, samples: [[1, 1000]] },
  ]);
  assertRefused(await write(big), 413, 'body_too_large');

  const push = (streams: number) =>
    sendRaw(gateway.url, {
      method: 'POST',
      path: '/loki/api/v1/push',
      body: JSON.stringify({
        streams: Array.from({ length: streams }, (_, i) => ({ stream: { app: `a${i}`, namespace: 'team-a' }, values: [['1', 'line']] })),
      }),
      headers: { authorization: 'Bearer tok-ns', host: 'loki.example', 'content-type': 'application/json' },
    });
  assert.equal((await push(2)).status, 200);
  assertRefused(await push(3), 422, 'too_many_series');
  assert.equal(upstream.requests.length, 2);
});

test('write size: Loki protobuf push streams counted as Loki reads them; a streams field of another wire type is refused, not forwarded uncounted', async () => {
  // tok-dash has no label policy: its pushes pass the enforcer undecoded, so the count is what reads them.
  const stream = (i: number) => encodeLengthDelimited(1, encodeLengthDelimited(1, Buffer.from(`{app="a${i}"}`)));
  const push = (message: Buffer) =>
    sendRaw(gateway.url, {
      method: 'POST',
      path: '/loki/api/v1/push',
      body: compressSnappy(message),
      headers: { authorization: 'Bearer tok-dash', host: 'loki.example', 'content-type': 'application/x-protobuf' },
    });
  const sent = upstream.requests.length;
  assert.equal((await push(Buffer.concat([stream(0), stream(1)]))).status, 200);
  assertRefused(await push(Buffer.concat([stream(0), stream(1), stream(2)])), 422, 'too_many_series');
  // Field 1 as a varint, a fixed64, a fixed32 (wire types 0, 1, 5): each a third stream Loki would refuse to read.
  for (const odd of [Buffer.from([0x08, 0x01]), Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8]), Buffer.from([0x0d, 1, 2, 3, 4])]) {
    const res = await push(Buffer.concat([stream(0), stream(1), odd]));
    assert.equal(res.status, 400, odd.toString('hex'));
    assert.doesNotMatch(res.body.toString('utf8'), /app=/);
  }
  assert.equal(upstream.requests.length, sent + 1, 'only the well-formed push within the limit reached Loki');
});

test('a reload keeps the counters of a rule that did not change and resets one that did', async () => {
  assert.equal((await get('tok-dash')).status, 200);
  assert.equal((await get('tok-dash')).status, 200);
  assertRefused(await get('tok-dash'), 429, 'rate_limited');
  // Same rules, another upstream added: the bucket is still empty.
  const config = gatewayConfig(RULES);
  assert.equal(await gateway.server.reload(parseForReload(config)), true);
  assertRefused(await get('tok-dash'), 429, 'rate_limited');
  // The rule's burst changes: a new counter.
  const changed = RULES.map((rule) => (rule.name === 'raw-rate' ? { ...rule, burst: 3 } : rule));
  assert.equal(await gateway.server.reload(parseForReload(gatewayConfig(changed))), true);
  assert.equal((await get('tok-dash')).status, 200);
  assert.equal(await gateway.server.reload(parseForReload(gatewayConfig(RULES))), true);
});

function parseForReload(raw: Record<string, unknown>): Config {
  const proxy = { listen: '127.0.0.1:0', shutdown_timeout: '5s', ...(raw.proxy as Record<string, unknown>) };
  return parseConfig({ log_level: 'info', admin: { listen: '127.0.0.1:0' }, ...raw, proxy });
}
