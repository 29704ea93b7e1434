import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #2, request path step 5 (and #6's flush setting): bodies stream both ways. Each side holds back its
// second half until the other side has seen the first, through the gateway: a gateway that buffered a body
// would never deliver the first half, and the test would fail on its deadline instead of passing.

const DEADLINE_MS = 5_000;
let upstream: Server;
let tokens: TempTokenFile;
let gateway: StartedGateway;
/** What the current test's upstream does with the request. */
let onRequest: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

before(async () => {
  upstream = createServer((req, res) => onRequest(req, res));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
  gateway = await startTestGateway({
    log_level: 'warn',
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [{ match: '.*', upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, flush_interval: '1s' }],
    },
  });
});

after(async () => {
  await gateway.stop();
  upstream.close();
  await tokens.remove();
});

/** Resolves with the first chunk of `stream` that contains `text`, or rejects at the deadline. */
function waitFor(stream: NodeJS.ReadableStream, text: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} never arrived: the body was buffered, not streamed`)), DEADLINE_MS);
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

test('a response streams to the client chunk by chunk while the upstream is still writing', async () => {
  let releaseSecondHalf!: () => void;
  const secondHalf = new Promise<void>((resolve) => (releaseSecondHalf = resolve));
  onRequest = (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first half\n');
    void secondHalf.then(() => res.end('second half\n'));
  };
  const req = request(`${gateway.url}/stream`, { headers: { authorization: 'Bearer tok-a' } });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  assert.equal(res.statusCode, 200);
  let body = '';
  res.on('data', (chunk: Buffer) => (body += chunk.toString()));
  await waitFor(res, 'first half', 'the first half of the response');
  releaseSecondHalf();
  await once(res, 'end');
  assert.equal(body, 'first half\nsecond half\n');
});

test('a request body streams to the upstream while the client is still sending it', async () => {
  let upstreamSawFirstHalf!: Promise<void>;
  let received = '';
  const answered = new Promise<void>((resolveAnswered) => {
    onRequest = (req, res) => {
      upstreamSawFirstHalf = waitFor(req, 'first half', 'the first half of the request body');
      req.on('data', (chunk: Buffer) => (received += chunk.toString()));
      req.on('end', () => {
        res.writeHead(200);
        res.end('ok');
        resolveAnswered();
      });
    };
  });
  const req = request(`${gateway.url}/push`, {
    method: 'POST',
    headers: { authorization: 'Bearer tok-a', 'content-type': 'application/octet-stream' },
  });
  req.write('first half\n');
  // The upstream has the request (and its first half) before the client sends the rest.
  const deadline = Date.now() + DEADLINE_MS;
  while (upstreamSawFirstHalf === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(upstreamSawFirstHalf !== undefined, 'the request never reached the upstream: the body was buffered, not streamed');
  await upstreamSawFirstHalf;
  req.end('second half\n');
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.resume();
  await answered;
  assert.equal(res.statusCode, 200);
  assert.equal(received, 'first half\nsecond half\n');
});
