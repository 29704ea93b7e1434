import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { startTestGateway } from '../servers/gateway.js';
import { startRecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile } from '../servers/temp-token-file.js';

// A WebSocket upgrade (Loki's tail) gets the same request context as any request (server/request-context.ts):
// a client's safe X-Request-Id is kept end to end, an unsafe one replaced, and the span names the real method.

const AUTH = { authorization: 'Bearer tok-a' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function setup(t: TestContext) {
  const collector = await startRecordingUpstream({
    handler: (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    },
  });
  const querier = await startRecordingUpstream({ onWebSocket: (socket) => socket.send('{"streams":[]}') });
  const tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' } });
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'loki', type: 'loki', match: '.*', upstream: querier.url }] },
    tracing: { otlp_endpoint: `${collector.url}/v1/traces`, service_name: 'ws-test' },
  });
  let stopped = false;
  const stopGateway = async () => {
    if (!stopped) await gateway.stop();
    stopped = true;
  };
  t.after(async () => {
    await stopGateway();
    await querier.stop();
    await collector.stop();
    await tokens.remove();
  });
  const tailUrl = `${gateway.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{app="x"}')}`;
  const accessLines = () => gateway.logs.filter((line) => line.websocket === true);
  return { gateway, querier, collector, tailUrl, accessLines, stopGateway };
}

async function openAndClose(url: string, headers: Record<string, string>): Promise<void> {
  const ws = new WebSocket(url, { headers });
  await once(ws, 'message');
  ws.close();
  await once(ws, 'close');
}

test("a tail keeps the client's safe X-Request-Id: sent upstream and on its access line", async (t) => {
  const { querier, tailUrl, accessLines } = await setup(t);
  await openAndClose(tailUrl, { ...AUTH, 'x-request-id': 'client-req-42' });
  assert.equal(querier.requests[0]?.headers['x-request-id'], 'client-req-42');
  await waitFor(() => accessLines().length === 1);
  assert.equal(accessLines()[0]?.requestId, 'client-req-42');
  assert.equal(accessLines()[0]?.status, 101);
});

test('an unsafe X-Request-Id is replaced by a fresh id, the same upstream and in the log', async (t) => {
  const { querier, tailUrl, accessLines } = await setup(t);
  await openAndClose(tailUrl, { ...AUTH, 'x-request-id': 'two words' });
  const sent = String(querier.requests[0]?.headers['x-request-id']);
  assert.match(sent, UUID);
  await waitFor(() => accessLines().length === 1);
  assert.equal(accessLines()[0]?.requestId, sent);
});

test("a refused upgrade answers with the client's request id", async (t) => {
  const { gateway, querier } = await setup(t);
  const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{app="x"')}`, {
    headers: { ...AUTH, 'x-request-id': 'client-req-43' },
  });
  ws.on('error', () => undefined);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  assert.equal(response.statusCode, 400);
  assert.equal(response.headers['x-request-id'], 'client-req-43');
  response.resume();
  ws.terminate();
  assert.equal(querier.requests.length, 0);
});

test('the span of an upgrade names the method the client sent, not always GET', async (t) => {
  const { gateway, collector, stopGateway } = await setup(t);
  const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    [
      'POST /loki/api/v1/tail?query=%7Bapp%3D%22x%22%7D HTTP/1.1',
      'Host: 127.0.0.1',
      'Authorization: Bearer tok-a',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      '',
      '',
    ].join('\r\n'),
  );
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  await once(socket, 'close');
  assert.match(answer, /^HTTP\/1\.1 405 /);
  await stopGateway(); // flushes the spans
  const methods = collector.requests.flatMap((request) => {
    const body = JSON.parse(request.body.toString()) as {
      resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[];
    };
    return body.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.attributes.find((a) => a.key === 'http.request.method')?.value.stringValue)),
    );
  });
  assert.deepEqual(methods, ['POST']);
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition());
}
