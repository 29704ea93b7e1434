import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { startTestGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { RawConnection } from '../servers/raw-connection.js';

// HTTP/1.1 framing attacks, byte for byte (RFC 9112 §6.3, §11.2): ambiguous lengths, folded headers, targets
// not in origin form, and request smuggling — a refused request whose unread body would be read as the next
// request on the same connection, with another tenant's credentials or headers the gateway never checked.

const MAX_BODY_BYTES = 1000;
const fixture = gatewayFixture({
  tokens: {
    'tok-a': { tenant: 'tenant-a', namespace: 'team-a' },
    'tok-b': { tenant: 'tenant-b', namespace: 'team-b' },
  },
  config: (upstream) => ({
    log_level: 'warn',
    proxy: {
      max_body_bytes: MAX_BODY_BYTES,
      upstreams: [
        { name: 'prom', match: 'prom\\.example', upstream, priority: 1, type: 'prometheus' },
        { name: 'raw', match: '.*', upstream, allow_unenforced_policy: true },
      ],
    },
  }),
});

/**
 * Writes `bytes` on a fresh connection and returns everything read until the gateway closes it (every
 * attack below ends in a refusal that closes, or in a request with `Connection: close`).
 */
function exchange(bytes: string): Promise<string> {
  return sendOn(fixture.port, bytes);
}

async function sendOn(gatewayPort: number, bytes: string): Promise<string> {
  const connection = await RawConnection.open(gatewayPort);
  // No half-close: Node's server ends a half-closed connection before answering pipelined requests.
  connection.write(bytes);
  return connection.readToEnd();
}

function statuses(answer: string): number[] {
  return [...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
}

/** A complete request for another tenant, used as the body of the attacking request. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-b\r\nConnection: close\r\n\r\n';

async function assertGatewayStillServes(): Promise<void> {
  const res = await sendRaw(fixture.gateway.url, { path: '/still-up', headers: { authorization: 'Bearer tok-a' } });
  assert.equal(res.status, 200);
}

test('Content-Length with Transfer-Encoding, two Content-Lengths, obs-fold and space before ":" are 400 and reach nothing', async () => {
  const auth = 'Authorization: Bearer tok-a\r\n';
  const attacks = [
    `POST /x HTTP/1.1\r\nHost: raw.example\r\n${auth}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST /x HTTP/1.1\r\nHost: raw.example\r\n${auth}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    `POST /x HTTP/1.1\r\nHost: raw.example\r\n${auth}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    `GET /x HTTP/1.1\r\nHost: raw.example\r\n${auth}X-Scope-OrgID: tenant-a\r\n tenant-b\r\n\r\n`,
    `GET /x HTTP/1.1\r\nHost: raw.example\r\n${auth}X-Scope-OrgID : tenant-b\r\n\r\n`,
    `GET /x HTTP/1.1\nHost: raw.example\n${auth.trim()}\nX-A: b\rX-Scope-OrgID: tenant-b\n\n`,
  ];
  for (const attack of attacks) {
    const answer = await exchange(attack);
    assert.deepEqual(statuses(answer), [400], JSON.stringify(attack));
  }
  assert.equal(fixture.upstream.requests.length, 0);
});

test('absolute-form, asterisk-form and CONNECT targets are refused and reach nothing', async () => {
  const auth = 'Authorization: Bearer tok-a\r\nConnection: close\r\n';
  assert.deepEqual(
    statuses(await exchange(`GET http://prom.example/api/v1/query?query=up HTTP/1.1\r\nHost: raw.example\r\n${auth}\r\n`)),
    [400],
  );
  // Refused even when it names the Host's own authority: one rule, nothing to compare.
  assert.deepEqual(statuses(await exchange(`GET http://raw.example/x HTTP/1.1\r\nHost: raw.example\r\n${auth}\r\n`)), [400]);
  assert.deepEqual(statuses(await exchange(`OPTIONS * HTTP/1.1\r\nHost: raw.example\r\n${auth}\r\n`)), [400]);
  const connectAnswer = await exchange(
    `CONNECT ${new URL(fixture.upstream.url).host} HTTP/1.1\r\nHost: ${new URL(fixture.upstream.url).host}\r\n${auth}\r\n`,
  );
  assert.ok(!statuses(connectAnswer).some((s) => s < 300), connectAnswer);
  assert.equal(fixture.upstream.requests.length, 0);
});

test('the unread body of a refused request is never read as a second request (401, 403, 404, 413)', async () => {
  // The client asks to close: a refused body small enough is drained and the connection would stay open.
  const refused = [
    `POST /api/v1/query HTTP/1.1\r\nHost: prom.example\r\nConnection: close\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /x HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-a\r\nX-Scope-OrgID: tenant-b\r\nConnection: close\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /nope HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\nConnection: close\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /api/v1/query HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${MAX_BODY_BYTES + SMUGGLED.length}\r\n\r\n${SMUGGLED}${'x'.repeat(MAX_BODY_BYTES)}`,
  ];
  for (const attack of refused) {
    const answer = await exchange(attack);
    assert.equal(statuses(answer).length, 1, answer);
  }
  assert.deepEqual(
    fixture.upstream.requests.map((r) => r.url),
    [],
  );
});

test('a chunked body over max_body_bytes is refused without taking the gateway down', async () => {
  // The gateway runs in this process: a throw in one of its listeners is an uncaught exception here, which
  // the test runner would swallow, and which ends a real gateway process.
  const uncaught: unknown[] = [];
  const monitor = (error: unknown) => uncaught.push(error);
  process.on('uncaughtExceptionMonitor', monitor);
  const big = `query=${'x'.repeat(MAX_BODY_BYTES + 200)}`;
  const attack =
    `POST /api/v1/query HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`;
  // Refused before the rest of the body was read: the answer says it closes, and the connection closes at
  // once (it used to stay open for the keep-alive timeout, 66 s, before `exchange` could return).
  const answer = await exchange(attack);
  assert.deepEqual(statuses(answer), [413], answer);
  assert.match(answer, /^connection: close$/im);
  assert.equal(fixture.upstream.requests.length, 0);
  await assertGatewayStillServes();
  process.off('uncaughtExceptionMonitor', monitor);
  assert.deepEqual(uncaught, []);
});

test("a body on GET to an enforced endpoint is dropped; the next request on the connection is the client's own", async () => {
  const attack =
    `GET /api/v1/query?query=up HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nquery=other`;
  const answer = await exchange(
    `${attack}GET /next HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-a\r\nConnection: close\r\n\r\n`,
  );
  assert.deepEqual(statuses(answer), [200, 200]);
  // Node hands pipelined requests to the gateway at once (answers stay in order): find each by its path.
  const query = fixture.upstream.requests.find((r) => r.url.startsWith('/api/v1/query'));
  const next = fixture.upstream.requests.find((r) => r.url === '/next');
  assert.equal(query?.url, `/api/v1/query?query=${encodeURIComponent('up{namespace="team-a"}')}`);
  assert.equal(query?.body.length, 0);
  assert.equal(query?.headers['content-length'], undefined);
  assert.equal(next?.url, '/next');
  assert.equal(next?.headers['x-scope-orgid'], 'tenant-a');
});

// RFC 9112 §6.1: Transfer-Encoding must be exactly one `chunked` (anything else: 501), never on HTTP/1.0 (400);
// §3.2: one Host. Each refusal closes the connection, and what followed it on the wire is never read.
test('Transfer-Encoding other than exactly "chunked" is 501, on HTTP/1.0 400; the connection closes, nothing reaches the upstream', async () => {
  const auth = 'Authorization: Bearer tok-a\r\n';
  const body = '5\r\nhello\r\n0\r\n\r\n';
  const cases: [string, string, number][] = [
    ['identity, chunked', `Transfer-Encoding: identity, chunked\r\n`, 501],
    ['gzip, chunked', `Transfer-Encoding: gzip, chunked\r\n`, 501],
    ['Chunked', `Transfer-Encoding: Chunked\r\n`, 501],
    ['CHUNKED', `Transfer-Encoding: CHUNKED\r\n`, 501],
    ['two lines', `Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n`, 501],
    ['two chunked lines', `Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`, 400],
    ['chunked, chunked', `Transfer-Encoding: chunked, chunked\r\n`, 400],
    ['identity', `Transfer-Encoding: identity\r\n`, 400],
    ['chunked with Content-Length', `Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n`, 400],
  ];
  for (const [name, te, status] of cases) {
    // What follows the body would be a second request if the gateway read the body as chunked and went on.
    const answer = await exchange(`POST /x HTTP/1.1\r\nHost: raw.example\r\n${auth}${te}\r\n${body}${SMUGGLED}`);
    assert.deepEqual(statuses(answer), [status], `${name}: ${answer}`);
    assert.match(answer, /^connection: close$/im, name);
  }
  const http10 = await exchange(`POST /x HTTP/1.0\r\nHost: raw.example\r\n${auth}Transfer-Encoding: chunked\r\n\r\n${body}${SMUGGLED}`);
  assert.deepEqual(statuses(http10), [400], http10);
  assert.match(http10, /"code":"ambiguous_framing"/);
  assert.deepEqual(
    fixture.upstream.requests.map((r) => r.url),
    [],
  );
  await assertGatewayStillServes();
});

test('two Host header lines are 400 duplicate_host, whichever order; the connection closes', async () => {
  for (const hosts of [
    ['raw.example', 'prom.example'],
    ['prom.example', 'raw.example'],
    ['raw.example', 'raw.example'],
  ]) {
    const lines = hosts.map((h) => `Host: ${h}\r\n`).join('');
    const answer = await exchange(`GET /api/v1/query?query=up HTTP/1.1\r\n${lines}Authorization: Bearer tok-a\r\n\r\n${SMUGGLED}`);
    assert.deepEqual(statuses(answer), [400], answer);
    assert.match(answer, /"code":"duplicate_host"/);
    assert.match(answer, /^connection: close$/im);
  }
  assert.equal(fixture.upstream.requests.length, 0);
});

test('HTTP versions other than 1.0 and 1.1 are 505; HTTP/1.0 without Host reaches only a catch-all route, else 400 missing_host', async () => {
  // Node's parser refuses HTTP/1.2 itself (400); it hands over 2.0 and 0.9, which the gateway refuses.
  for (const [line, status] of [
    ['GET /x HTTP/2.0', 505],
    ['GET /x HTTP/0.9', 505],
    ['GET /x HTTP/1.2', 400],
  ] as const) {
    const answer = await exchange(`${line}\r\nHost: raw.example\r\nAuthorization: Bearer tok-a\r\n\r\n`);
    assert.deepEqual(statuses(answer), [status], `${line}: ${answer}`);
  }
  const http09 = await exchange('GET /x\r\n\r\n');
  assert.deepEqual(statuses(http09), [505], http09);
  // The routes here are `prom\.example` and the catch-all `.*`: an empty host matches only the catch-all.
  const noHost = await exchange('GET /no-host HTTP/1.0\r\nAuthorization: Bearer tok-a\r\n\r\n');
  assert.deepEqual(statuses(noHost), [200], noHost);
  assert.deepEqual(
    fixture.upstream.requests.map((r) => r.url),
    ['/no-host'],
  );
  // Without a catch-all, routing needs the host: 400 missing_host (not 404: the client's request is short).
  const named = await startTestGateway({
    log_level: 'warn',
    backend_type: 'file',
    file: { path: fixture.tokens!.path },
    proxy: { upstreams: [{ name: 'prom', match: 'prom\\.example', upstream: fixture.upstream.url, type: 'prometheus' }] },
  });
  try {
    for (const request of ['GET /api/v1/query?query=up HTTP/1.0\r\n', 'GET /api/v1/query?query=up HTTP/1.1\r\nHost:\r\n']) {
      const answer = await sendOn(Number(new URL(named.url).port), `${request}Authorization: Bearer tok-a\r\nConnection: close\r\n\r\n`);
      assert.deepEqual(statuses(answer), [400], answer);
      assert.match(answer, /"code":"missing_host"/);
    }
  } finally {
    await named.stop();
  }
  assert.deepEqual(
    fixture.upstream.requests.map((r) => r.url),
    ['/no-host'],
  );
});

test('trailers and chunk extensions are read and dropped: never forwarded, never a header the gateway checks', async () => {
  const answer = await exchange(
    'POST /with-trailers HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-a\r\nTransfer-Encoding: chunked\r\n' +
      'Trailer: X-Scope-OrgID\r\nConnection: close\r\n\r\n' +
      '5;ext=1\r\nhello\r\n0\r\nX-Scope-OrgID: tenant-b\r\nAuthorization: Bearer tok-b\r\nHost: prom.example\r\n\r\n',
  );
  assert.deepEqual(statuses(answer), [200], answer);
  const [arrived] = fixture.upstream.requests;
  assert.equal(arrived?.url, '/with-trailers');
  assert.equal(arrived?.body.toString(), 'hello');
  assert.equal(arrived?.headers['x-scope-orgid'], 'tenant-a');
  assert.equal(arrived?.headers.trailer, undefined);
  assert.deepEqual(arrived?.trailers, {});
});

test("a client that never closes after a refusal by Node's parser is let go by the gateway (bounded linger)", async () => {
  const socket = connect({ port: fixture.port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write('GET /x HTTP/1.1\r\nHost: raw.example\r\nX-Scope-OrgID : tenant-b\r\n\r\n');
  await new Promise((resolve) => socket.once('end', resolve));
  assert.deepEqual(statuses(Buffer.concat(chunks).toString('latin1')), [400]);
  // The client never closes its side and keeps writing: once the gateway has let the socket go, a write is
  // answered by a reset (while it kept the socket half open, every write was taken in silence).
  const gone = new Promise((resolve) => socket.once('error', resolve));
  const writing = setInterval(() => socket.write('x'), 100);
  await gone;
  clearInterval(writing);
  socket.destroy();
});
