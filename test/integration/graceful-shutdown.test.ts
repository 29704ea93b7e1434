import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { type Cleanup, startGatewayFixture } from '../servers/gateway-fixture.js';
import { RawConnection } from '../servers/raw-connection.js';

// Issue #10, under load: after SIGTERM the gateway refused new connections but kept taking requests on open
// keep-alive ones (140 in one run), then cut those it had forwarded when shutdown_timeout came. As Go's
// Server.Shutdown: idle connections close at once, a busy one answers its request with `Connection: close`
// and closes, so no connection carries more than one more request, and no forwarded request is cut.

/** One gateway per test, which the test shuts down itself. */
function startFixture(t: Cleanup) {
  return startGatewayFixture(t, {
    tokens: { 'tok-a': 'tenant-a' },
    config: (upstream) => ({ log_level: 'warn', proxy: { shutdown_timeout: '10s', upstreams: [{ name: 'main', match: '.*', upstream }] } }),
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: gw.example\r\nAuthorization: Bearer tok-a\r\n\r\n`;

test('shutdown closes idle keep-alive connections at once; a busy one answers with Connection: close and takes no further request', async (t) => {
  const { upstream, gateway, port } = await startFixture(t);
  let release: (() => void) | undefined;
  const slowArrived = new Promise<void>((resolve) => {
    upstream.setHandler((request, res: ServerResponse) => {
      if (request.url !== '/slow') return void res.end('{"status":"success"}');
      release = () => res.end('{"status":"success","slow":true}');
      resolve();
    });
  });
  const idle = await RawConnection.open(port);
  idle.write(get('/warm'));
  assert.equal((await idle.next()).headers.connection, 'keep-alive');
  const busy = await RawConnection.open(port);
  busy.write(get('/slow'));
  await slowArrived;

  const shutdown = gateway.stop();
  // The idle connection closes while the busy one is still held.
  assert.deepEqual(await idle.ended, { clean: true });
  // A request sent behind the in-flight one, after shutdown began, is never forwarded.
  busy.write(get('/after-shutdown'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  release!();
  const answer = await busy.next();
  assert.equal(answer.status, 200);
  assert.equal(answer.body, '{"status":"success","slow":true}');
  assert.equal(answer.headers.connection, 'close');
  assert.deepEqual(await busy.ended, { clean: true });
  await shutdown;
  assert.deepEqual(
    upstream.requests.map((r) => r.url),
    ['/warm', '/slow'],
  );
});

test('keep-alive clients sending through a shutdown: at most one more request per connection, and every forwarded request is answered', async (t) => {
  const { upstream, gateway, port } = await startFixture(t);
  // Staggered answers, and one slow request held through the shutdown: some request is always in flight,
  // as under real load (the old drain then went on forwarding every client's next request until it ended).
  let release: (() => void) | undefined;
  const slowArrived = new Promise<void>((resolve) => {
    upstream.setHandler((request, res: ServerResponse) => {
      if (request.url !== '/slow') return void setTimeout(() => res.end('{"status":"success"}'), 5 + Math.random() * 20);
      release = () => res.end('{"status":"success"}');
      resolve();
    });
  });
  const CLIENTS = 8;
  const agents = Array.from({ length: CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  let answered = 0;
  const send = (agent: Agent, path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { authorization: 'Bearer tok-a' }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const loops = agents.map(async (agent, client) => {
    for (let i = 0; ; i++) {
      try {
        assert.equal(await send(agent, `/loop/${client}/${i}`), 200);
        answered += 1;
      } catch {
        return; // its connection closed, and a new one is refused: this client is done
      }
    }
  });
  while (upstream.requests.length < 40) await new Promise((resolve) => setTimeout(resolve, 5));
  const slow = RawConnection.open(port).then((connection) => {
    connection.write(get('/slow'));
    return connection.next();
  });
  await slowArrived;
  const forwardedBefore = upstream.requests.length;
  const shutdown = gateway.stop();
  // The loops end (their connections close) while /slow is held; the old code kept them going.
  await Promise.race([Promise.all(loops), new Promise((resolve) => setTimeout(resolve, 1_000))]);
  release!();
  assert.equal((await slow).status, 200);
  await shutdown;
  await Promise.all(loops);
  for (const agent of agents) agent.destroy();
  const after = upstream.requests.length - forwardedBefore;
  assert.ok(after <= CLIENTS, `${after} requests forwarded after shutdown began, over ${CLIENTS} connections`);
  assert.equal(answered + 1, upstream.requests.length, 'a forwarded request was cut');
});
