import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { decodeProtoPush, encodeProtoPush } from '../../src/enforce/write/loki-push-proto.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #5, Loki: LogQL enforced on every read endpoint (GET and POST form), push validated stream by stream
// (JSON and snappy protobuf), and tail proxied over WebSocket with the rewritten query.
const COMPONENTS = ['main', 'distributor', 'query-frontend', 'querier'] as const;
type Component = (typeof COMPONENTS)[number];
const upstreams = {} as Record<Component, RecordingUpstream>;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  upstreams.main = await startRecordingUpstream();
  upstreams.distributor = await startRecordingUpstream();
  upstreams['query-frontend'] = await startRecordingUpstream();
  upstreams.querier = await startRecordingUpstream({
    onWebSocket: (socket) => {
      socket.send('{"streams":[]}');
      socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString()}`));
    },
  });
  tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' } });
  const loki = {
    type: 'loki',
    upstream: upstreams.main.url,
    components: { distributor: upstreams.distributor.url, query_frontend: upstreams['query-frontend'].url, querier: upstreams.querier.url },
  };
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        { ...loki, name: 'inject', match: 'inject\\.example', inject_labels_on_write: true, priority: 10 },
        { ...loki, name: 'loki', match: '.*' },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  for (const name of COMPONENTS) await upstreams[name].stop();
  await tokens.remove();
});

beforeEach(() => {
  for (const name of COMPONENTS) upstreams[name].reset();
});

const AUTH = { authorization: 'Bearer tok-a' };

function receivedOnce(component: Component) {
  const all = COMPONENTS.flatMap((c) => upstreams[c].requests.map((r) => ({ component: c, ...r })));
  assert.equal(all.length, 1, `expected one upstream request, got ${all.map((r) => `${r.component} ${r.url}`).join(', ')}`);
  const [only] = all;
  assert.equal(only?.component, component);
  const url = new URL(only.url, 'http://upstream');
  return { ...only, path: url.pathname, params: url.searchParams, form: new URLSearchParams(only.body.toString()) };
}

function assertNothingForwarded(): void {
  for (const name of COMPONENTS) assert.deepEqual(upstreams[name].requests, [], `${name} must receive nothing`);
}

describe('LogQL reads', () => {
  const cases: { path: string; param: string; sent?: string; want: string }[] = [
    { path: '/loki/api/v1/query', param: 'query', sent: '{app="x"} |= "err"', want: '{app="x", namespace="team-a"} |= "err"' },
    {
      path: '/loki/api/v1/query_range',
      param: 'query',
      sent: 'sum(rate({app="x"}[1m]))',
      want: 'sum(rate({app="x", namespace="team-a"}[1m]))',
    },
    { path: '/loki/api/v1/series', param: 'match[]', sent: '{app="x"}', want: '{app="x", namespace="team-a"}' },
    { path: '/loki/api/v1/labels', param: 'query', want: '{namespace="team-a"}' },
    { path: '/loki/api/v1/label/app/values', param: 'query', sent: '{app=~".+"}', want: '{app=~".+", namespace="team-a"}' },
    { path: '/loki/api/v1/index/stats', param: 'query', sent: '{app="x"}', want: '{app="x", namespace="team-a"}' },
    { path: '/loki/api/v1/index/volume', param: 'query', sent: '{namespace="team-b"}', want: '{namespace="team-a"}' },
  ];
  for (const { path, param, sent, want } of cases) {
    const query = sent === undefined ? '' : new URLSearchParams([[param, sent]]).toString();
    test(`GET ${path} reaches the query-frontend with ${param} enforced`, async () => {
      const res = await sendRaw(gateway.url, { path: `${path}${query ? `?${query}` : ''}`, headers: AUTH });
      assert.equal(res.status, 200, res.body.toString());
      const got = receivedOnce('query-frontend');
      assert.equal(got.path, path);
      assert.equal(got.headers['x-scope-orgid'], 'team-a');
      assert.deepEqual(got.params.getAll(param), [want]);
    });
    if (sent === undefined) continue;
    test(`POST ${path} (form) is enforced in the body`, async () => {
      const res = await sendRaw(gateway.url, {
        method: 'POST',
        path,
        headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body: query,
      });
      assert.equal(res.status, 200, res.body.toString());
      const got = receivedOnce('query-frontend');
      assert.deepEqual([...got.form.getAll(param), ...got.params.getAll(param)], [want]);
    });
  }

  test('invalid LogQL is 400 and reaches nothing', async () => {
    const res = await sendRaw(gateway.url, { path: `/loki/api/v1/query?query=${encodeURIComponent('{app="x"')}`, headers: AUTH });
    assert.equal(res.status, 400);
    assert.equal(res.json().code, 'query_parse_error');
    assertNothingForwarded();
  });
});

describe('push', () => {
  const NS = '1700000000000000000';
  const json = (...streams: Record<string, string>[]) =>
    JSON.stringify({ streams: streams.map((stream) => ({ stream, values: [[NS, 'line']] })) });
  const entry = { timestamp: { seconds: '1700000000', nanos: 1 }, line: Buffer.from('hello') };
  const proto = (...labels: string[]) => encodeProtoPush({ streams: labels.map((l) => ({ labels: l, entries: [entry] })), format: '' });
  const push = (body: string | Buffer, contentType: string, host = 'loki.example'): Promise<RawResponse> =>
    sendRaw(gateway.url, { method: 'POST', path: '/loki/api/v1/push', headers: { ...AUTH, host, 'content-type': contentType }, body });

  test('an allowed JSON stream reaches the distributor unchanged', async () => {
    const body = json({ app: 'x', namespace: 'team-a' });
    assert.equal((await push(body, 'application/json')).status, 200);
    const got = receivedOnce('distributor');
    assert.equal(got.headers['x-scope-orgid'], 'team-a');
    assert.deepEqual(JSON.parse(got.body.toString()), JSON.parse(body));
  });

  test('an allowed protobuf stream reaches the distributor byte for byte', async () => {
    const body = proto('{app="x", namespace="team-a"}');
    assert.equal((await push(body, 'application/x-protobuf')).status, 200);
    const got = receivedOnce('distributor');
    assert.equal(got.headers['content-type'], 'application/x-protobuf');
    assert.deepEqual(got.body, body);
  });

  for (const [kind, body, type] of [
    ['JSON', json({ namespace: 'team-a' }, { app: 'y', namespace: 'team-b' }), 'application/json'],
    ['protobuf', proto('{namespace="team-a"}', '{app="y", namespace="team-b"}'), 'application/x-protobuf'],
  ] as const) {
    test(`a ${kind} push with a stream of another namespace is 403 naming it, and nothing is forwarded`, async () => {
      const res = await push(body, type);
      assert.equal(res.status, 403);
      assert.match(String(res.json().error), /#1 \{.*namespace="team-b"/);
      assertNothingForwarded();
    });
  }

  test('inject mode adds the missing label (JSON and protobuf)', async () => {
    assert.equal((await push(json({ app: 'x' }), 'application/json', 'inject.example')).status, 200);
    assert.deepEqual(JSON.parse(receivedOnce('distributor').body.toString()).streams[0].stream, { app: 'x', namespace: 'team-a' });
    upstreams.distributor.reset();
    assert.equal((await push(proto('{app="x"}'), 'application/x-protobuf', 'inject.example')).status, 200);
    const decoded = decodeProtoPush(receivedOnce('distributor').body, 1 << 20);
    assert.equal(decoded.streams[0]?.labels, '{app="x", namespace="team-a"}');
  });
});

describe('tail over WebSocket', () => {
  function openTail(query: string): WebSocket {
    const url = `${gateway.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}`;
    return new WebSocket(url, { headers: AUTH });
  }

  test('the upgrade reaches the querier with the rewritten query and tenant; messages flow both ways', async () => {
    const ws = openTail('{app="x"} |= "err"');
    const [first] = (await once(ws, 'message')) as [Buffer];
    assert.equal(first.toString(), '{"streams":[]}');
    ws.send('ping');
    const [echo] = (await once(ws, 'message')) as [Buffer];
    assert.equal(echo.toString(), 'echo:ping');
    ws.close();
    await once(ws, 'close');
    const got = receivedOnce('querier');
    assert.equal(got.websocket, true);
    assert.equal(got.path, '/loki/api/v1/tail');
    assert.equal(got.headers['x-scope-orgid'], 'team-a');
    assert.deepEqual(got.params.getAll('query'), ['{app="x", namespace="team-a"} |= "err"']);
    assert.deepEqual(got.messages.map(String), ['ping']);
  });

  test("a tail of another tenant's selector is rewritten to the policy", async () => {
    const ws = openTail('{namespace="team-b"}');
    await once(ws, 'message');
    ws.close();
    await once(ws, 'close');
    assert.deepEqual(receivedOnce('querier').params.getAll('query'), ['{namespace="team-a"}']);
  });

  test('an invalid tail query is 400 before any upgrade reaches the upstream', async () => {
    const ws = openTail('{app="x"');
    ws.on('error', () => undefined); // ws reports the refused handshake as an error too
    const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    assert.equal(response.statusCode, 400);
    response.resume();
    ws.terminate();
    assertNothingForwarded();
  });
});
