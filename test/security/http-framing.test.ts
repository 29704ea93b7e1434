import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// HTTP/1.1 framing attacks, byte for byte (RFC 9112 §6.3, §11.2): ambiguous lengths, folded headers, targets
// not in origin form, and request smuggling — a refused request whose unread body would be read as the next
// request on the same connection, with another tenant's credentials or headers the gateway never checked.

const MAX_BODY_BYTES = 1000;
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;
let port: number;

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'tenant-a', namespace: 'team-a' },
    'tok-b': { tenant: 'tenant-b', namespace: 'team-b' },
  });
  gateway = await startTestGateway({
    log_level: 'warn',
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      max_body_bytes: MAX_BODY_BYTES,
      upstreams: [
        { name: 'prom', match: 'prom\\.example', upstream: upstream.url, priority: 1, type: 'prometheus' },
        { name: 'raw', match: '.*', upstream: upstream.url, allow_unenforced_policy: true },
      ],
    },
  });
  port = Number(new URL(gateway.url).port);
});

after(async () => {
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

beforeEach(() => upstream.reset());

/**
 * Writes `bytes` on a fresh connection and returns everything read until the gateway closes it (every
 * attack below ends in a refusal that closes, or in a request with `Connection: close`).
 */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the answer still counts as "closed"; the statuses read so far are what matters.
      if (error.code === 'ECONNRESET') resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(error);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    // No half-close: Node's server ends a half-closed connection before answering pipelined requests.
    socket.write(bytes);
  });
}

function statuses(answer: string): number[] {
  return [...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
}

/** A complete request for another tenant, used as the body of the attacking request. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-b\r\nConnection: close\r\n\r\n';

async function assertGatewayStillServes(): Promise<void> {
  const res = await sendRaw(gateway.url, { path: '/still-up', headers: { authorization: 'Bearer tok-a' } });
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
  assert.equal(upstream.requests.length, 0);
});

test('absolute-form, asterisk-form and CONNECT targets are refused and reach nothing', async () => {
  const auth = 'Authorization: Bearer tok-a\r\nConnection: close\r\n';
  assert.deepEqual(statuses(await exchange(`GET http://prom.example/api/v1/query?query=up HTTP/1.1\r\nHost: raw.example\r\n${auth}\r\n`)), [400]);
  assert.deepEqual(statuses(await exchange(`OPTIONS * HTTP/1.1\r\nHost: raw.example\r\n${auth}\r\n`)), [400]);
  const connectAnswer = await exchange(`CONNECT ${new URL(upstream.url).host} HTTP/1.1\r\nHost: ${new URL(upstream.url).host}\r\n${auth}\r\n`);
  assert.ok(!statuses(connectAnswer).some((s) => s < 300), connectAnswer);
  assert.equal(upstream.requests.length, 0);
});

test('the unread body of a refused request is never read as a second request (401, 403, 404, 413)', async () => {
  const refused = [
    `POST /api/v1/query HTTP/1.1\r\nHost: prom.example\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /x HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-a\r\nX-Scope-OrgID: tenant-b\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /nope HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /api/v1/query HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${MAX_BODY_BYTES + SMUGGLED.length}\r\n\r\n${SMUGGLED}${'x'.repeat(MAX_BODY_BYTES)}`,
  ];
  for (const attack of refused) {
    const answer = await exchange(attack);
    assert.equal(statuses(answer).length, 1, answer);
  }
  assert.deepEqual(upstream.requests.map((r) => r.url), []);
});

test('a chunked body over max_body_bytes is refused without taking the gateway down', async () => {
  // The gateway runs in this process: a throw in one of its listeners is an uncaught exception here, which
  // the test runner would swallow, and which ends a real gateway process.
  const uncaught: unknown[] = [];
  const monitor = (error: unknown) => uncaught.push(error);
  process.on('uncaughtExceptionMonitor', monitor);
  const big = 'query=' + 'x'.repeat(MAX_BODY_BYTES + 200);
  const attack =
    `POST /api/v1/query HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`;
  const answer = await exchange(attack);
  assert.deepEqual(statuses(answer), [413], answer);
  assert.equal(upstream.requests.length, 0);
  await assertGatewayStillServes();
  process.off('uncaughtExceptionMonitor', monitor);
  assert.deepEqual(uncaught, []);
});

test('a body on GET to an enforced endpoint is dropped; the next request on the connection is the client\'s own', async () => {
  const attack =
    `GET /api/v1/query?query=up HTTP/1.1\r\nHost: prom.example\r\nAuthorization: Bearer tok-a\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nquery=other`;
  const answer = await exchange(`${attack}GET /next HTTP/1.1\r\nHost: raw.example\r\nAuthorization: Bearer tok-a\r\nConnection: close\r\n\r\n`);
  assert.deepEqual(statuses(answer), [200, 200]);
  // Node hands pipelined requests to the gateway at once (answers stay in order): find each by its path.
  const query = upstream.requests.find((r) => r.url.startsWith('/api/v1/query'));
  const next = upstream.requests.find((r) => r.url === '/next');
  assert.equal(query?.url, `/api/v1/query?query=${encodeURIComponent('up{namespace="team-a"}')}`);
  assert.equal(query?.body.length, 0);
  assert.equal(query?.headers['content-length'], undefined);
  assert.equal(next?.url, '/next');
  assert.equal(next?.headers['x-scope-orgid'], 'tenant-a');
});
