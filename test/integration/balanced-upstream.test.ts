import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { answerAs, startKillableBackends } from '../servers/killable-backend.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS } from '../servers/remote-write-body.js';
import { startRecordingUpstream } from '../servers/recording-upstream.js';
import { startSigv4Verifier } from '../servers/sigv4-verifier.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #22: several backends behind one upstream, through real sockets: balancing, passive health with
// half-open trials, retries of reads on another backend (and what is never retried), the retry budget. Time is
// an injected clock: a back-off passes by a clock step, not a sleep.
let tokens: TempTokenFile;
let nowMs = Date.UTC(2026, 11, 6, 5);
const clock = { now: () => nowMs };

before(async () => {
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'team-a', name: 'a', namespace: '.*' },
    'tok-b': { tenant: 'team-b', name: 'b' },
    'tok-c': { tenant: 'team-c', name: 'c' },
  });
});
after(async () => tokens.remove());

async function gatewayFor(t: TestContext, upstream: Record<string, unknown>): Promise<StartedGateway> {
  const gateway = await startTestGateway(
    {
      backend_type: 'file',
      file: { path: tokens.path },
      proxy: { upstreams: [{ name: 'ha', match: '.*', timeout: '2s', dial_timeout: '500ms', ...upstream }] },
    },
    { clock },
  );
  t.after(() => gateway.stop());
  return gateway;
}

function get(gateway: StartedGateway, path = '/api/v1/labels', token = 'tok-a'): Promise<RawResponse> {
  return sendRaw(gateway.url, { path, headers: { authorization: `Bearer ${token}` } });
}

const answeredBy = (res: RawResponse) => (res.json() as { backend: string }).backend;

test('round_robin spreads by weight (2:1), and `upstream = [...]` is the same with weight 1', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  const gateway = await gatewayFor(t, {
    backends: [
      { url: a!.url, weight: 2 },
      { url: b!.url, weight: 1 },
    ],
  });
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) seen.push(answeredBy(await get(gateway)));
  assert.equal(seen.filter((n) => n === 'b0').length, 20);
  assert.equal(seen.filter((n) => n === 'b1').length, 10);
  assert.deepEqual(seen.slice(0, 3).sort(), ['b0', 'b0', 'b1'], 'smooth: the light one is not left to the end');

  const plain = await gatewayFor(t, { upstream: [a!.url, b!.url] });
  const even: string[] = [];
  for (let i = 0; i < 10; i++) even.push(answeredBy(await get(plain)));
  assert.equal(even.filter((n) => n === 'b0').length, 5);
});

test('hash on tenant keeps each tenant on one backend; least_loaded avoids the busy one', async (t) => {
  const [a, b, c] = await startKillableBackends(t, 3);
  const gateway = await gatewayFor(t, { upstream: [a!.url, b!.url, c!.url], balance: 'hash', hash_on: 'tenant' });
  for (const token of ['tok-a', 'tok-b', 'tok-c']) {
    const first = answeredBy(await get(gateway, '/x', token));
    for (let i = 0; i < 5; i++) assert.equal(answeredBy(await get(gateway, '/x', token)), first, token);
  }

  const held: (() => void)[] = [];
  a!.setHandler((_hit, res) => held.push(() => answerAs('b0')(_hit, res)));
  const loaded = await gatewayFor(t, { upstream: [a!.url, b!.url], balance: 'least_loaded' });
  const slow = [get(loaded), get(loaded)]; // one on each; b0's stays in flight
  while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  await Promise.race(slow); // the one b1 answered
  const quick: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await get(loaded);
    quick.push(`${res.status}:${answeredBy(res)}`);
  }
  assert.ok(
    quick.every((n) => n === '200:b1'),
    `all to the idle backend: ${quick.join(',')}`,
  );
  for (const release of held) release();
  await Promise.all(slow);
});

test('first_available: a killed primary is out after one failed request, whose read is answered once by the next; it is back after its trial', async (t) => {
  const [primary, secondary] = await startKillableBackends(t, 2);
  const gateway = await gatewayFor(t, { upstream: [primary!.url, secondary!.url], balance: 'first_available', health: { backoff: '1s' } });
  assert.equal(answeredBy(await get(gateway)), 'b0');
  await primary!.kill();

  const failedOver = await get(gateway, '/api/v1/labels?n=1');
  assert.equal(failedOver.status, 200);
  assert.equal(answeredBy(failedOver), 'b1', 'retried on the secondary');
  assert.equal(secondary!.hits.filter((h) => h.url === '/api/v1/labels?n=1').length, 1, 'exactly once');
  // Out: the next requests go straight to the secondary (no connection attempt to the primary).
  for (let i = 0; i < 3; i++) assert.equal(answeredBy(await get(gateway)), 'b1');
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`scopegate_upstream_backend_up\\{upstream="ha",backend="${primary!.url}",state="down"\\} 0`));
  assert.match(metrics, /scopegate_upstream_retries_total\{upstream="ha",reason="connect"\} 1/);

  await primary!.restart();
  assert.equal(answeredBy(await get(gateway)), 'b1', 'still in its back-off');
  nowMs += 1_000;
  assert.equal(answeredBy(await get(gateway)), 'b0', 'the trial after the back-off brings it back');
  assert.equal(answeredBy(await get(gateway)), 'b0');
});

test('every backend down: 503 no_backend_available at once, without a connection attempt', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  const gateway = await gatewayFor(t, { upstream: [a!.url, b!.url], health: { backoff: '10s' } });
  await a!.kill();
  await b!.kill();
  const first = await get(gateway);
  assert.equal(first.status, 502, 'both refused: the last fault is answered');
  const refused = await get(gateway);
  assert.equal(refused.status, 503);
  assert.equal(refused.json().code, 'no_backend_available');
});

test('a configured status is retried on another backend for reads, including a buffered POST query', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  a!.setHandler((_hit, res) => res.writeHead(503).end('overloaded'));
  const gateway = await gatewayFor(t, { upstream: [a!.url, b!.url], type: 'prometheus', retry_status_codes: [503], max_retries: 1 });
  for (let i = 0; i < 4; i++) {
    const res = await sendRaw(gateway.url, {
      method: 'POST',
      path: '/api/v1/query',
      headers: { authorization: 'Bearer tok-a', 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=up&i=${i}`,
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(answeredBy(res), 'b1');
  }
  assert.equal(b!.hits.length, 4);
  assert.ok(
    b!.hits.every((h) => h.body.toString().startsWith('query=up')),
    'the same body on the retry',
  );
});

test('a write is sent once unless retry_writes; a response that started is never retried', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  a!.setHandler((_hit, res) => res.writeHead(503).end('overloaded'));
  b!.setHandler((_hit, res) => res.writeHead(503).end('overloaded'));
  const body = encodeWriteRequest([{ labels: { __name__: 'up', job: 'x' }, samples: [[1, 1_700_000_000_000]] }]);
  const write = (gateway: StartedGateway) =>
    sendRaw(gateway.url, {
      method: 'POST',
      path: '/api/v1/write',
      headers: { authorization: 'Bearer tok-a', ...REMOTE_WRITE_HEADERS },
      body,
    });
  const upstream = { upstream: [a!.url, b!.url], type: 'prometheus', allow_write: true, retry_status_codes: [503] };
  const once = await gatewayFor(t, upstream);
  assert.equal((await write(once)).status, 503);
  assert.equal(a!.hits.length + b!.hits.length, 1, 'not retried');

  const retried = await gatewayFor(t, { ...upstream, retry_writes: true });
  a!.hits.length = 0;
  b!.hits.length = 0;
  await write(retried);
  assert.equal(a!.hits.length + b!.hits.length, 2, 'retried once, elsewhere');

  // A response that started: the status line and part of the body are out, then the backend dies.
  for (const backend of [a!, b!]) {
    backend.hits.length = 0;
    backend.setHandler((_hit, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"succ');
      setImmediate(() => res.socket?.destroy());
    });
  }
  const started = await gatewayFor(t, { upstream: [a!.url, b!.url], retry_status_codes: [503] });
  await assert.rejects(get(started), 'the client sees a cut response, not a second one');
  assert.equal(a!.hits.length + b!.hits.length, 1, 'never retried');
});

test('the retry budget caps retries under a full outage', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  for (const backend of [a!, b!]) backend.setHandler((_hit, res) => res.writeHead(503).end('down'));
  const gateway = await gatewayFor(t, { upstream: [a!.url, b!.url], retry_status_codes: [503], max_retries: 1, retry_budget: 0.1 });
  const requests = 100;
  for (let i = 0; i < requests; i++) assert.equal((await get(gateway)).status, 503);
  const sent = a!.hits.length + b!.hits.length;
  // 10% of the requests plus the floor of 1 a second over the 10 s window; without a budget: 200.
  assert.ok(sent <= requests + 0.1 * requests + 10, `sent ${sent}`);
  assert.ok(sent > requests, 'some were retried');
});

test('SigV4: every backend gets a request signed for its own host, and a retry is signed again for the next', async (t) => {
  const key = { accessKeyId: 'AKIDBALANCED', secretAccessKey: 'balanced/secret/key+example' };
  const verifiers = await Promise.all([0, 1].map(() => startSigv4Verifier({ keys: [key], service: 'aps', region: 'eu-west-1' })));
  t.after(() => Promise.all(verifiers.map((v) => v.close())));
  const gateway = await gatewayFor(t, {
    upstream: verifiers.map((v) => v.url.href.replace(/\/$/, '')),
    sign: {
      service: 'aps',
      region: 'eu-west-1',
      credentials: { type: 'static', access_key_id: key.accessKeyId, secret_access_key: key.secretAccessKey },
    },
  });
  for (let i = 0; i < 4; i++) assert.equal((await get(gateway, `/api/v1/labels?i=${i}`)).status, 200);
  for (const verifier of verifiers) {
    assert.equal(verifier.received.length, 2);
    for (const received of verifier.received) assert.equal(received.rejection, undefined, received.rejection);
  }
  await verifiers[0]!.close();
  for (let i = 0; i < 2; i++) assert.equal((await get(gateway, `/api/v1/labels?after=${i}`)).status, 200);
  const last = verifiers[1]!.received.slice(2);
  assert.equal(last.length, 2, 'both answered by the one left (one of them a retry)');
  for (const received of last) assert.equal(received.rejection, undefined, received.rejection);
});

test('a WebSocket tail is balanced, and retried on the next backend when the first refuses the connection', async (t) => {
  const upstreams = await Promise.all(
    ['r0', 'r1'].map((name) => startRecordingUpstream({ onWebSocket: (socket) => socket.send(JSON.stringify({ backend: name })) })),
  );
  t.after(() => Promise.all(upstreams.map((u) => u.stop())));
  const gateway = await gatewayFor(t, { upstream: upstreams.map((u) => u.url), type: 'loki', balance: 'first_available' });
  const tail = async (): Promise<string> => {
    const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{app="x"}')}`, {
      headers: { authorization: 'Bearer tok-a' },
    });
    const [message] = (await once(ws, 'message')) as [Buffer];
    ws.close();
    await once(ws, 'close');
    return (JSON.parse(message.toString()) as { backend: string }).backend;
  };
  assert.equal(await tail(), 'r0');
  await upstreams[0]!.stop();
  assert.equal(await tail(), 'r1');
  assert.equal(upstreams[1]!.requests.filter((r) => r.websocket).length, 1);
});
