import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// W3C trace context: the upstream's spans join the caller's trace, and the access log carries the trace id
// so a request can be followed from the gateway's log into the upstream's.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({ 'tok-a': 'team-a' });
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ match: '.*', upstream: upstream.url }] },
  });
});

after(async () => {
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

async function accessLine(requestId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = gateway.logs.find((l) => l.msg === 'request' && l.requestId === requestId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("the caller's trace continues upstream with the gateway as parent, and is logged", async () => {
  upstream.reset();
  const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await fetch(`${gateway.url}/x`, {
    headers: { authorization: 'Bearer tok-a', traceparent: caller, 'x-request-id': 'trace-test-1' },
  });
  assert.equal(res.status, 200);
  const sent = String(upstream.requests[0]?.headers.traceparent);
  assert.match(sent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(sent, caller);
  assert.equal((await accessLine('trace-test-1')).traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
});

test('a request without a trace gets one, and a forged all-zero trace id is replaced', async () => {
  upstream.reset();
  await fetch(`${gateway.url}/x`, { headers: { authorization: 'Bearer tok-a', 'x-request-id': 'trace-test-2' } });
  await fetch(`${gateway.url}/x`, {
    headers: {
      authorization: 'Bearer tok-a',
      traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      'x-request-id': 'trace-test-3',
    },
  });
  for (const [i, id] of ['trace-test-2', 'trace-test-3'].entries()) {
    const traceId = String((await accessLine(id)).traceId);
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(traceId, '0'.repeat(32));
    assert.equal(upstream.requests[i]?.headers.traceparent?.toString().split('-')[1], traceId);
  }
});

test('every answer carries the request id the upstream was sent: relayed, refused, and over an upstream that sets its own', async () => {
  upstream.reset();
  const relayed = await fetch(`${gateway.url}/x`, { headers: { authorization: 'Bearer tok-a', 'x-request-id': 'trace-test-4' } });
  assert.equal(relayed.status, 200);
  assert.equal(relayed.headers.get('x-request-id'), 'trace-test-4');
  assert.equal(upstream.requests[0]?.headers['x-request-id'], 'trace-test-4');

  // No id, or one the gateway will not pass on: a fresh one, the same upstream and back.
  const fresh = await fetch(`${gateway.url}/x`, { headers: { authorization: 'Bearer tok-a', 'x-request-id': 'bad id\twith spaces' } });
  const freshId = fresh.headers.get('x-request-id');
  assert.match(String(freshId), /^[0-9a-f-]{36}$/);
  assert.equal(upstream.requests[1]?.headers['x-request-id'], freshId);

  const refused = await fetch(`${gateway.url}/x`, { headers: { authorization: 'Bearer wrong', 'x-request-id': 'trace-test-5' } });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get('x-request-id'), 'trace-test-5');

  upstream.setHandler((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'the-upstream-own-id' });
    res.end('{}');
  });
  try {
    const echoed = await fetch(`${gateway.url}/x`, { headers: { authorization: 'Bearer tok-a', 'x-request-id': 'trace-test-6' } });
    assert.deepEqual(echoed.headers.get('x-request-id'), 'trace-test-6');
  } finally {
    upstream.setHandler((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"success","data":[]}');
    });
  }
});
