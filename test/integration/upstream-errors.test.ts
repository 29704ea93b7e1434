import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { findFreePort } from '../servers/free-port.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #2, request path step 5: upstream refused/reset → 502, timeout → 504, both JSON; the client's abort
// cancels the upstream request; bodies stream both ways.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;
/** Requests the upstream is holding without answering, so the test can end them. */
const held: ServerResponse[] = [];
let onHeld: ((res: ServerResponse) => void) | undefined;
const LARGE_BYTES = 16 * 1024 * 1024;
const largeResponse = randomBytes(LARGE_BYTES);

before(async () => {
  upstream = await startRecordingUpstream({ handler: answerByPath });
  tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  const closedPort = await findFreePort();
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        { name: 'refused', match: 'refused\\.test', upstream: `http://127.0.0.1:${closedPort}` },
        { name: 'slow', match: 'slow\\.test', upstream: upstream.url, timeout: '300ms' },
        // Long enough that only the client's abort can end a held request within the test's own timeout.
        { name: 'main', match: '.*', upstream: upstream.url, timeout: '10m' },
      ],
    },
  });
});

after(async () => {
  for (const res of held) res.destroy();
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

function answerByPath(request: RecordedRequest, res: ServerResponse): void {
  switch (request.url) {
    case '/hang':
      held.push(res);
      onHeld?.(res);
      return;
    case '/reset-before-headers':
      res.socket?.destroy();
      return;
    case '/stall-mid-body':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      held.push(res);
      return;
    case '/reset-mid-body':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
      res.write(Buffer.alloc(1000), () => res.socket?.destroy());
      return;
    case '/large':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(largeResponse.length) });
      res.end(largeResponse);
      return;
    default:
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', receivedBytes: request.body.length }));
  }
}

function send(host: string, path: string, method = 'GET', body?: Buffer) {
  return sendRaw(gateway.url, { method, path, headers: { host, authorization: 'Bearer tok-a' }, ...(body ? { body } : {}) });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function metricsText(): Promise<string> {
  return (await fetch(`${gateway.adminUrl}/metrics`)).text();
}

test('a refused connection → 502 JSON in the Prometheus error format on API paths, counted by kind', async () => {
  const res = await send('refused.test', '/api/v1/query');
  assert.equal(res.status, 502);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.equal(body.status, 'error');
  assert.equal(body.errorType, 'execution');
  assert.equal(body.code, 'upstream_unreachable');
  assert.doesNotMatch(String(body.error), /127\.0\.0\.1/, 'the upstream address is not disclosed');
  assert.match(await metricsText(), /scopegate_upstream_errors_total\{upstream="refused",kind="connect"\} 1/);
});

test('an upstream that never answers within `timeout` → 504 JSON', async () => {
  const res = await send('slow.test', '/hang');
  assert.equal(res.status, 504);
  assert.equal(res.json().code, 'upstream_timeout');
  assert.match(await metricsText(), /scopegate_upstream_errors_total\{upstream="slow",kind="timeout"\} 1/);
});

test('an upstream silent for `timeout` between body chunks: the client connection is cut', async () => {
  await assert.rejects(send('slow.test', '/stall-mid-body'), (error: NodeJS.ErrnoException) => {
    assert.match(String(error.code ?? error.message), /ECONNRESET|aborted/);
    return true;
  });
});

test('a client that stops reading for longer than `timeout` is not a silent upstream: the response completes intact', async () => {
  const url = new URL(gateway.url);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: '/large', headers: { host: 'slow.test', authorization: 'Bearer tok-a' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let paused = false;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (paused) return;
          paused = true;
          res.pause();
          setTimeout(() => res.resume(), 1_000); // the 'slow' upstream's timeout is 300ms
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(sha256(body), sha256(largeResponse));
});

test('an upstream that closes the connection before answering → 502 upstream_reset', async () => {
  const res = await send('main.test', '/reset-before-headers');
  assert.equal(res.status, 502);
  assert.equal(res.json().code, 'upstream_reset');
});

test('an upstream that resets mid-response: the client connection is cut, never a complete-looking response', async () => {
  await assert.rejects(send('main.test', '/reset-mid-body'), (error: NodeJS.ErrnoException) => {
    assert.match(String(error.code ?? error.message), /ECONNRESET|aborted/);
    return true;
  });
});

test("the client's abort cancels the upstream request, and the gateway keeps serving", { timeout: 20_000 }, async () => {
  const upstreamClosed = new Promise<void>((resolve) => {
    onHeld = (res) => res.once('close', () => resolve());
  });
  const client = httpRequest(`${gateway.url}/hang`, { headers: { host: 'main.test', authorization: 'Bearer tok-a' }, agent: false });
  client.on('error', () => undefined);
  const arrived = new Promise<void>((resolve) => {
    const previous = onHeld;
    onHeld = (res) => {
      previous?.(res);
      resolve();
    };
  });
  client.end();
  await arrived;
  client.destroy();
  await upstreamClosed; // without cancellation the upstream would hold this request for the 10 minute timeout
  onHeld = undefined;
  assert.equal((await send('main.test', '/ok')).status, 200);
  // The access line records the abandoned request as 499 (client closed).
  while (!gateway.logs.some((line) => line.msg === 'request' && line.path === '/hang' && line.status === 499)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // The client left; the upstream did nothing wrong: no upstream error is counted for it.
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.doesNotMatch(metrics, /scopegate_upstream_errors_total\{[^}]*kind="aborted"/);
});

test('a large request body streams to the upstream intact', async () => {
  const body = randomBytes(LARGE_BYTES);
  upstream.reset();
  const res = await send('main.test', '/upload', 'POST', body);
  assert.equal(res.status, 200);
  assert.equal(res.json().receivedBytes, LARGE_BYTES);
  assert.equal(sha256(upstream.requests[0]!.body), sha256(body));
});

test('a chunked request body (no Content-Length) streams to the upstream intact', async () => {
  upstream.reset();
  const parts = [randomBytes(300_000), randomBytes(1), randomBytes(700_000)];
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      `${gateway.url}/upload`,
      {
        method: 'POST',
        headers: { host: 'main.test', authorization: 'Bearer tok-a', 'transfer-encoding': 'chunked' },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    for (const part of parts) req.write(part);
    req.end();
  });
  assert.equal(status, 200);
  assert.equal(sha256(upstream.requests[0]!.body), sha256(Buffer.concat(parts)));
});

test('a large response streams back intact', async () => {
  const res = await send('main.test', '/large');
  assert.equal(res.status, 200);
  assert.equal(res.body.length, LARGE_BYTES);
  assert.equal(sha256(res.body), sha256(largeResponse));
});
