import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { startSignedGateway } from '../servers/signed-gateway.js';

// Issue #10 item 7 / #11: a Loki tail over WebSocket leaves through the same outgoing-request builder and the
// same pool as any request, so to a `sign` upstream it arrives signed (checked by an independent SigV4
// implementation) and carries X-Forwarded-*, X-Request-Id and traceparent; and a refused upgrade is answered
// by the one error writer, as a plain request would be.

const KEY = { accessKeyId: 'AKIDTAIL', secretAccessKey: 'tail/secret/key+example' };

const setup = (t: { after(fn: () => Promise<void>): void }, sign: Record<string, unknown> = {}) =>
  startSignedGateway(t, { key: KEY, tokens: { 'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' } }, type: 'loki', sign });

function openTail(gatewayUrl: string, query: string): WebSocket {
  const url = `${gatewayUrl.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}`;
  return new WebSocket(url, {
    headers: {
      authorization: 'Bearer tok-a',
      'x-forwarded-for': '203.0.113.7',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  });
}

test('a tail to a signed upstream arrives signed, with the rewritten query, the tenant and X-Forwarded-*', async (t) => {
  const { verifier, gateway } = await setup(t);
  const ws = openTail(gateway.url, '{app="x"} |= "err"');
  const [first] = (await once(ws, 'message')) as [Buffer];
  assert.equal(first.toString(), '{"streams":[]}');
  ws.close();
  await once(ws, 'close');

  assert.equal(verifier.received.length, 1);
  const [got] = verifier.received;
  assert.equal(got?.rejection, undefined, 'the signature verifies');
  assert.equal(got?.accessKeyId, KEY.accessKeyId);
  assert.match(got?.headers.authorization ?? '', /^AWS4-HMAC-SHA256 /);
  const url = new URL(got?.rawUrl ?? '', 'http://x');
  assert.equal(url.pathname, '/loki/api/v1/tail');
  assert.deepEqual(url.searchParams.getAll('query'), ['{app="x", namespace="team-a"} |= "err"']);
  assert.equal(got?.headers['x-scope-orgid'], 'team-a');
  assert.equal(got?.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(got?.headers['x-forwarded-proto'], 'http');
  assert.equal(got?.headers['x-forwarded-host'], new URL(gateway.url).host);
  assert.match(got?.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  assert.match(got?.headers.traceparent ?? '', /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-0[01]$/);
  assert.equal(got?.headers['authorization']?.includes('tok-a'), false, 'the caller token is not forwarded');
});

test('without valid credentials the tail is refused 503 aws_credentials_unavailable in the JSON shape, and nothing arrives', async (t) => {
  const { verifier, gateway } = await setup(t, {
    credentials: { type: 'vault', address: 'http://127.0.0.1:9', role: 'r', token: 'x' },
    fetch_timeout: '1s',
  });
  const ws = openTail(gateway.url, '{app="x"}');
  ws.on('error', () => undefined); // ws reports the refused handshake as an error too
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  ws.terminate();
  assert.equal(response.statusCode, 503);
  assert.equal(response.headers['content-type'], 'application/json');
  assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
  assert.deepEqual([body['status'], body['code']], ['error', 'aws_credentials_unavailable']);
  assert.match(String(body['error']), /no valid AWS credentials/);
  assert.equal(verifier.received.length, 0);
});
