import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startAlertmanager } from './alertmanager.js';
import { DEFAULT_RULES, startPrometheus } from './prometheus.js';
import { startRecordingUpstream } from './recording-upstream.js';
import { DEFAULT_SERIES } from './sample-series.js';
import { startVictoriaMetrics } from './victoria-metrics.js';

interface VectorBody {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

async function assertStopped(url: string): Promise<void> {
  await assert.rejects(fetch(url), 'the server still answers after stop()');
}

/** The sample series whose last value each instant query at `sampleTime` must return. */
function expectedHttpRequests(): string[] {
  return DEFAULT_SERIES.filter((s) => s.name === 'http_requests_total')
    .map((s) => `${s.labels.namespace}/${s.labels.code}=${s.values.at(-1)}`)
    .sort();
}

function summarise(body: VectorBody): string[] {
  return body.data.result.map((r) => `${r.metric.namespace}/${r.metric.code}=${r.value[1]}`).sort();
}

test('prometheus: backfilled series at sampleTime, tenant rules and alerts, remote-write receiver on', async () => {
  const prom = await startPrometheus();
  try {
    const query = new URLSearchParams({ query: 'http_requests_total', time: String(prom.sampleTime) });
    assert.deepEqual(summarise(await getJson<VectorBody>(`${prom.url}/api/v1/query?${query}`)), expectedHttpRequests());

    const alerts = await getJson<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>(`${prom.url}/api/v1/alerts`);
    const got = alerts.data.alerts.map((a) => `${a.labels.alertname}:${a.labels.namespace}:${a.state}`).sort();
    assert.deepEqual(got, DEFAULT_RULES.alerting.map((a) => `${a.alert}:${a.namespace}:${a.state}`).sort());

    const rules = await getJson<{ data: { groups: { name: string }[] } }>(`${prom.url}/api/v1/rules`);
    assert.deepEqual(rules.data.groups.map((g) => g.name).sort(), ['cluster', 'team-a', 'team-b', 'team-c']);

    // Without --web.enable-remote-write-receiver the endpoint answers 404; with it, an empty body is a 400.
    const write = await fetch(`${prom.url}/api/v1/write`, { method: 'POST', body: '' });
    await write.arrayBuffer();
    assert.notEqual(write.status, 404);
  } finally {
    await prom.stop();
  }
  await assertStopped(`${prom.url}/-/ready`);
});

test('alertmanager: answers its v2 API with clustering disabled', async () => {
  const am = await startAlertmanager();
  try {
    const status = await getJson<{ cluster: { status: string } }>(`${am.url}/api/v2/status`);
    assert.equal(status.cluster.status, 'disabled');
    const post = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'Smoke', namespace: 'team-a' } }]),
    });
    assert.equal(post.status, 200);
    const alerts = await getJson<{ labels: Record<string, string> }[]>(`${am.url}/api/v2/alerts`);
    assert.deepEqual(
      alerts.map((a) => a.labels.namespace),
      ['team-a'],
    );
  } finally {
    await am.stop();
  }
  await assertStopped(`${am.url}/-/ready`);
});

test('victoria-metrics: imported series are queryable at sampleTime', async () => {
  const vm = await startVictoriaMetrics();
  try {
    const query = new URLSearchParams({ query: 'http_requests_total', time: String(vm.sampleTime) });
    assert.deepEqual(summarise(await getJson<VectorBody>(`${vm.url}/api/v1/query?${query}`)), expectedHttpRequests());
  } finally {
    await vm.stop();
  }
  await assertStopped(`${vm.url}/health`);
});

test('recording upstream: records HTTP requests and WebSocket upgrades with their messages', async () => {
  const upstream = await startRecordingUpstream({ onWebSocket: (ws) => ws.on('message', (m: Buffer) => ws.send(m)) });
  try {
    const response = await fetch(`${upstream.url}/api/v1/query?query=up`, {
      method: 'POST',
      headers: { 'x-scope-orgid': 'tenant-a' },
      body: 'query=up',
    });
    assert.deepEqual(await response.json(), { status: 'success', data: [] });
    const [recorded] = upstream.requests;
    assert.equal(recorded?.method, 'POST');
    assert.equal(recorded?.url, '/api/v1/query?query=up');
    assert.equal(recorded?.headers['x-scope-orgid'], 'tenant-a');
    assert.equal(recorded?.body.toString(), 'query=up');

    upstream.setHandler((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    assert.equal((await fetch(`${upstream.url}/x`)).status, 503);

    upstream.reset();
    const socket = new WebSocket(`${upstream.url.replace('http', 'ws')}/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D`);
    await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const echoed = new Promise<string>((resolve) => socket.once('message', (m: Buffer) => resolve(m.toString())));
    socket.send('hello');
    assert.equal(await echoed, 'hello');
    assert.deepEqual(upstream.requests[0]?.messages.map(String), ['hello']);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await upstream.stop();
    await closed;
    assert.equal(upstream.requests[0]?.websocket, true);
    assert.equal(upstream.requests[0]?.url, '/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D');
  } finally {
    await upstream.stop();
  }
});
