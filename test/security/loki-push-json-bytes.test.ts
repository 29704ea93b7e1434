import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';

// A Loki JSON push in the plain form is forwarded as the very bytes the gateway checked (issue 19), so every
// way Loki's two Go decoders could read those bytes differently from the gateway must either be refused or make
// the gateway re-serialise what it checked: a duplicated "stream"/"streams" member (json-iterator and
// jsonparser read a repeated member again), other spellings ("Stream", "STREAMS": json-iterator matches the
// root's names case-insensitively), "\u0000"-escaped and escaped member names, a byte-order mark, trailing data
// after the value (json-iterator stops after one value), label names Loki unescapes twice. Through the gateway to
// a recording upstream: a refused body never arrives; whatever arrives is read by Loki as it was checked.
const fixture = gatewayFixture({
  tokens: { 'tok-a': { tenant: 'team-a', namespace: 'team-a' } },
  upstreams: { loki: {} },
  config: (_, { loki }) => ({
    proxy: {
      upstreams: [
        { type: 'loki', name: 'inject', match: 'inject\\.example', upstream: loki, inject_labels_on_write: true, priority: 10 },
        { type: 'loki', name: 'loki', match: '.*', upstream: loki },
      ],
    },
  }),
});

const VALUES = '[["1700000000000000000","line"]]';
const A = `{"stream":{"namespace":"team-a"},"values":${VALUES}}`;
const B = `{"stream":{"namespace":"team-b"},"values":${VALUES}}`;

async function push(body: string | Buffer, options: { host?: string; encoding?: string } = {}) {
  return sendRaw(fixture.gateway.url, {
    method: 'POST',
    path: '/loki/api/v1/push',
    headers: {
      host: options.host ?? 'loki.example',
      authorization: 'Bearer tok-a',
      'content-type': 'application/json',
      ...(options.encoding === undefined ? {} : { 'content-encoding': options.encoding }),
    },
    body,
  });
}

function forwarded(): Buffer {
  const requests = fixture.upstreams.loki.requests;
  assert.equal(requests.length, 1);
  return (requests[0] as { body: Buffer }).body;
}

/**
 * What arrived has one reading, the one `JSON.parse` gives: it parses (no mark, nothing after the value), it
 * is what `JSON.stringify` writes of that reading once whitespace is set aside (no member twice, no escaped
 * name), its member names are the canonical ones and its label names identifiers (read once by Loki as by us),
 * and every stream is in `team-a`.
 */
function assertOneReading(body: Buffer, compact = true): void {
  const text = body.toString('utf8');
  const push = JSON.parse(text) as { streams: { stream: Record<string, string> }[] };
  if (compact) assert.equal(JSON.stringify(push), text);
  assert.deepEqual(Object.keys(push), ['streams']);
  for (const stream of push.streams) {
    for (const key of Object.keys(stream)) assert.ok(key === 'stream' || key === 'values', key);
    for (const name of Object.keys(stream.stream)) assert.match(name, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
    assert.equal(stream.stream.namespace, 'team-a');
  }
}

describe('Loki JSON push: what is forwarded is what was checked', () => {
  const refused: { name: string; body: string | Buffer; status: number }[] = [
    {
      name: '"stream" twice, the other namespace last',
      body: `{"streams":[{"stream":{"namespace":"team-a"},"stream":{"namespace":"team-b"},"values":${VALUES}}]}`,
      status: 403,
    },
    { name: '"streams" twice, the other namespace last', body: `{"streams":[${A}],"streams":[${B}]}`, status: 403 },
    { name: '"STREAMS" with the other namespace', body: `{"STREAMS":[${B}]}`, status: 403 },
    { name: '"Stream" with the other namespace', body: `{"streams":[{"Stream":{"namespace":"team-b"},"values":${VALUES}}]}`, status: 403 },
    {
      name: '"stream" and "Stream"',
      body: `{"streams":[{"stream":{"namespace":"team-a"},"Stream":{"namespace":"team-b"},"values":${VALUES}}]}`,
      status: 400,
    },
    { name: '"streams" and "Streams"', body: `{"streams":[${A}],"Streams":[${B}]}`, status: 400 },
    { name: 'an escaped "\\u0073treams" with the other namespace', body: `{"\\u0073treams":[${B}]}`, status: 403 },
    {
      name: 'a label name Loki unescapes twice ("\\\\u006eamespace")',
      body: `{"streams":[{"stream":{"namespace":"team-a","\\\\u006eamespace":"team-b"},"values":${VALUES}}]}`,
      status: 400,
    },
    {
      name: 'a label name written into Loki\'s label text ("a=\\"1\\",namespace")',
      body: `{"streams":[{"stream":{"namespace":"team-a","a=\\"1\\",namespace":"team-b"},"values":${VALUES}}]}`,
      status: 400,
    },
    {
      name: 'a "namespace\\u0000" label name',
      body: `{"streams":[{"stream":{"namespace":"team-a","namespace\\u0000":"team-b"},"values":${VALUES}}]}`,
      status: 400,
    },
    { name: 'a byte-order mark', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"streams":[${A}]}`)]), status: 400 },
    { name: 'a second value after the first', body: `{"streams":[${A}]}{"streams":[${B}]}`, status: 400 },
    { name: 'garbage after the value', body: `{"streams":[${A}]} x`, status: 400 },
    { name: 'a truncated body', body: `{"streams":[${A}`, status: 400 },
    { name: 'a raw tab inside a line', body: `{"streams":[{"stream":{"namespace":"team-a"},"values":[["1","a\tb"]]}]}`, status: 400 },
    {
      name: 'a lone surrogate in a label value',
      body: `{"streams":[{"stream":{"namespace":"team-a","app":"\\ud800"},"values":${VALUES}}]}`,
      status: 400,
    },
    {
      name: 'an unquoted label value',
      body: `{"streams":[{"stream":{"namespace":"team-a","app":x"},"values":${VALUES}}]}`,
      status: 400,
    },
    {
      name: 'structured metadata of numbers',
      body: `{"streams":[{"stream":{"namespace":"team-a"},"values":[["1","l",{"k":1}]]}]}`,
      status: 400,
    },
  ];
  for (const { name, body, status } of refused) {
    test(`${name}: ${status}, nothing forwarded`, async () => {
      const res = await push(body);
      assert.equal(res.status, status, res.body.toString());
      assert.equal(fixture.upstreams.loki.requests.length, 0);
    });
  }

  const rewritten: { name: string; body: string }[] = [
    {
      name: '"stream" twice, the own namespace last',
      body: `{"streams":[{"stream":{"namespace":"team-b"},"stream":{"namespace":"team-a"},"values":${VALUES}}]}`,
    },
    { name: '"streams" twice, the own namespace last', body: `{"streams":[${B}],"streams":[${A}]}` },
    { name: '"Streams" alone', body: `{"Streams":[${A}]}` },
    { name: 'a "streams\\u0000" member beside "streams"', body: `{"streams":[${A}],"streams\\u0000":[${B}]}` },
    {
      name: 'a "stream\\u0000" member beside "stream"',
      body: `{"streams":[{"stream":{"namespace":"team-a"},"stream\\u0000":{"namespace":"team-b"},"values":${VALUES}}]}`,
    },
    { name: 'an escaped label name', body: `{"streams":[{"stream":{"n\\u0061mespace":"team-a"},"values":${VALUES}}]}` },
    {
      name: 'a label named twice, the own value last',
      body: `{"streams":[{"stream":{"namespace":"team-b","namespace":"team-a"},"values":${VALUES}}]}`,
    },
    { name: 'an unknown member', body: `{"streams":[${A}],"x":{"streams":[${B}]}}` },
    {
      name: 'structured metadata with an escape',
      body: `{"streams":[{"stream":{"namespace":"team-a"},"values":[["1","l",{"k":"\\u0041"}]]}]}`,
    },
  ];
  for (const { name, body } of rewritten) {
    test(`${name}: forwarded re-serialised as checked`, async () => {
      const res = await push(body);
      assert.equal(res.status, 200, res.body.toString());
      const got = forwarded();
      assert.notEqual(got.toString(), body);
      assertOneReading(got);
    });
  }

  test('a plain push arrives as the very bytes sent (whitespace and structured metadata kept)', async () => {
    const body = ` {\n "streams": [ {"stream": {"namespace": "team-a", "app": "é"}, "values": [["1", "a \\"quoted\\" line\\n", {"trace_id": "0af7"}]]} ]\n}\n`;
    const res = await push(body);
    assert.equal(res.status, 200, res.body.toString());
    const got = forwarded();
    assert.equal(got.toString(), body);
    assertOneReading(got, false);
  });

  test('a gzip plain push arrives decoded, as the bytes that were compressed', async () => {
    const body = `{"streams":[${A}]}`;
    const res = await push(gzipSync(body), { encoding: 'gzip' });
    assert.equal(res.status, 200, res.body.toString());
    const request = fixture.upstreams.loki.requests[0];
    assert.equal(request?.headers['content-encoding'], undefined);
    assert.equal(forwarded().toString(), body);
  });

  test('inject mode rewrites only the stream objects it completes; the lines arrive as sent', async () => {
    const body = `{"streams":[{"stream":{"app":"x"},"values":${VALUES}},${A}]}`;
    const res = await push(body, { host: 'inject.example' });
    assert.equal(res.status, 200, res.body.toString());
    const got = forwarded();
    assert.equal(got.toString(), `{"streams":[{"stream":{"app":"x","namespace":"team-a"},"values":${VALUES}},${A}]}`);
    assertOneReading(got);
  });
});
