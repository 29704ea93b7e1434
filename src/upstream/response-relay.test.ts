import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { FakeController } from '../../test/servers/recording-handler.js';
import { sendRaw } from '../../test/servers/http-client.js';
import { ResponseRelay } from './response-relay.js';
import { ForwardError } from './upstream-errors.js';

/** A server on 127.0.0.1:0 whose every request is answered by `drive`, with a relay onto its response. */
async function relayServer(t: TestContext, drive: (relay: ResponseRelay, controller: FakeController, res: ServerResponse) => void) {
  const settled: (Error | undefined)[] = [];
  const server = createServer((_req, res) => {
    const controller = new FakeController();
    const relay = new ResponseRelay(res, 'req-1', (error) => settled.push(error));
    relay.onRequestStart(controller);
    drive(relay, controller, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, settled };
}

test("the upstream's status, headers (minus hop-by-hop) and chunks reach the client with the request id; done() once", async (t) => {
  const { url, settled } = await relayServer(t, (relay, controller) => {
    relay.onResponseStart(controller, 100, {});
    relay.onResponseStart(
      controller,
      201,
      { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5' },
      'Made',
    );
    relay.onResponseData(controller, Buffer.from('one,'));
    relay.onResponseData(controller, Buffer.from('two'));
    relay.onResponseEnd();
  });
  const answer = await sendRaw(url);
  assert.equal(answer.status, 201);
  assert.equal(answer.body.toString(), 'one,two');
  assert.equal(answer.headers['content-type'], 'text/plain');
  assert.equal(answer.headers['x-request-id'], 'req-1');
  assert.equal(answer.headers['x-hop'], undefined);
  assert.deepEqual(settled, [undefined]);
});

test('a failure before the head is handed to done(error), once, with nothing sent (the caller answers)', async (t) => {
  const failure = new ForwardError('connect', new Error('refused'));
  const { url, settled } = await relayServer(t, (relay, controller, res) => {
    relay.onResponseError(controller, failure);
    relay.onResponseError(controller, failure);
    assert.equal(res.headersSent, false);
    res.statusCode = 502;
    res.end();
  });
  assert.equal((await sendRaw(url)).status, 502);
  assert.deepEqual(settled, [failure]);
});

test('a failure after the head cuts the connection: never a complete-looking response; done() without error', async (t) => {
  const { url, settled } = await relayServer(t, (relay, controller) => {
    relay.onResponseStart(controller, 200, { 'content-length': '10' });
    relay.onResponseData(controller, Buffer.from('part'));
    setImmediate(() => relay.onResponseError(controller, new ForwardError('reset', new Error('reset'))));
  });
  await assert.rejects(sendRaw(url));
  assert.deepEqual(settled, [undefined]);
});

test('a full client socket pauses the exchange; its drain resumes it', async (t) => {
  const big = Buffer.alloc(4 * 1024 * 1024, 'a');
  const seen: { pauses: number; resumes: number }[] = [];
  const { url } = await relayServer(t, (relay, controller, res) => {
    relay.onResponseStart(controller, 200, { 'content-length': String(big.length + 2) });
    relay.onResponseData(controller, big);
    relay.onResponseData(controller, Buffer.alloc(1)); // handed over while paused: paused still, one drain listener
    assert.equal(controller.paused, true);
    assert.equal(res.listenerCount('drain'), 1);
    res.once('drain', () =>
      setImmediate(() => {
        seen.push({ pauses: controller.pauses, resumes: controller.resumes });
        relay.onResponseData(controller, Buffer.from('z'));
        relay.onResponseEnd();
      }),
    );
  });
  const answer = await sendRaw(url);
  assert.equal(answer.body.length, big.length + 2);
  assert.deepEqual(seen, [{ pauses: 2, resumes: 1 }]);
});

test('a client that leaves first cancels the exchange as aborted; after the end it cancels nothing', async (t) => {
  const controllers: FakeController[] = [];
  const relays: ResponseRelay[] = [];
  const { url } = await relayServer(t, (relay, controller) => {
    controllers.push(controller);
    relays.push(relay);
    relay.onResponseStart(controller, 200, {});
    relay.onResponseData(controller, Buffer.from('x'));
  });
  const client = request(url);
  client.end();
  const [res] = (await once(client, 'response')) as [import('node:http').IncomingMessage];
  res.destroy();
  relays[0]?.clientGone();
  assert.ok(controllers[0]?.reason instanceof ForwardError);
  assert.equal(controllers[0].reason.kind, 'aborted');

  const ended = new FakeController();
  const relay = relays[0] as ResponseRelay;
  relay.onResponseEnd();
  relay.onRequestStart(ended);
  relay.clientGone();
  assert.equal(ended.aborted, false, 'settled: nothing left to cancel');
});
