import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import snappy from 'snappyjs';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import {
  decodeRequestV2Labels,
  encodeRequestV2,
  REMOTE_WRITE_V2_HEADERS,
  RequestV2,
  type V2Series,
} from '../servers/remote-write-v2-body.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #19, Remote Write 2.0 (`proto=io.prometheus.write.v2.Request`) on the remote-write rows whose upstream
// reads it (Prometheus, Mimir's distributor), through real sockets: enforced through the symbol table, malformed
// references refused with 400 before anything is sent, inject mode adds to the symbols, and the v2 response
// headers come back to the sender. VictoriaMetrics does not read 2.0: 415, nothing sent. (Debian's Prometheus is
// 2.42, older than 2.0 receive (2.54): the upstream here is a recording one that answers as a 2.0 receiver does.)
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;

const WRITTEN = {
  'x-prometheus-remote-write-samples-written': '2',
  'x-prometheus-remote-write-histograms-written': '0',
  'x-prometheus-remote-write-exemplars-written': '1',
};

before(async () => {
  upstream = await startRecordingUpstream({
    handler: (_request, res) => {
      res.writeHead(204, WRITTEN);
      res.end();
    },
  });
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'limited' },
    'tok-full': { tenant: 'team-a', namespace: '.*', name: 'full access' },
  });
  const components = { distributor: upstream.url };
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        { type: 'prometheus', name: 'prometheus', upstream: upstream.url, match: 'prom\\.example', allow_write: true, priority: 10 },
        {
          type: 'prometheus',
          name: 'inject',
          upstream: upstream.url,
          match: 'inject\\.example',
          allow_write: true,
          inject_labels_on_write: true,
          priority: 10,
        },
        { type: 'victoriametrics', name: 'vm', upstream: upstream.url, match: 'vm\\.example', allow_write: true, priority: 10 },
        { type: 'mimir', name: 'mimir', upstream: upstream.url, components, match: '.*' },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

beforeEach(() => upstream.reset());

const PATHS: Record<string, string> = {
  'prom.example': '/api/v1/write',
  'inject.example': '/api/v1/write',
  'vm.example': '/api/v1/write',
  'mimir.example': '/api/v1/push',
};

function write(host: string, body: Buffer, token = 'tok-a'): Promise<RawResponse> {
  return sendRaw(gateway.url, {
    method: 'POST',
    path: PATHS[host] as string,
    headers: { ...REMOTE_WRITE_V2_HEADERS, authorization: `Bearer ${token}`, host },
    body,
  });
}

const series = (namespace: string, extra: Partial<V2Series> = {}): V2Series => ({
  labels: { __name__: 'scopegate_v2', namespace, pod: 'p-1' },
  ...extra,
});

for (const host of ['prom.example', 'mimir.example']) {
  test(`${host}: a v2 write inside the policy arrives byte for byte, and the v2 response headers come back`, async () => {
    const body = encodeRequestV2([series('team-a', { exemplar: { trace_id: 'abc' } }), series('team-a', { help: 'a counter' })]);
    const res = await write(host, body);
    assert.equal(res.status, 204, res.body.toString());
    for (const [name, value] of Object.entries(WRITTEN)) assert.equal(res.headers[name], value, name);
    assert.equal(upstream.requests.length, 1);
    const arrived = upstream.requests[0];
    assert.ok(arrived?.body.equals(body));
    assert.equal(arrived?.headers['content-type'], REMOTE_WRITE_V2_HEADERS['content-type']);
    assert.equal(arrived?.headers['x-prometheus-remote-write-version'], '2.0.0');
    assert.equal(arrived?.headers['x-scope-orgid'] ?? 'team-a', 'team-a');
  });

  test(`${host}: a v2 write carrying another namespace is 403 and nothing is sent`, async () => {
    const res = await write(host, encodeRequestV2([series('team-a'), series('team-b')]));
    assert.equal(res.status, 403, res.body.toString());
    assert.equal(upstream.requests.length, 0);
  });
}

test('malformed symbol references are 400 and never sent', async () => {
  const bodies = {
    'label ref past the table': RequestV2.encode(
      RequestV2.fromObject({
        symbols: ['', 'namespace', 'team-a'],
        timeseries: [{ labelsRefs: [1, 7], samples: [{ value: 1, timestamp: 1 }] }],
      }),
    ).finish(),
    'odd labels_refs': RequestV2.encode(
      RequestV2.fromObject({
        symbols: ['', 'namespace', 'team-a'],
        timeseries: [{ labelsRefs: [1, 2, 1], samples: [{ value: 1, timestamp: 1 }] }],
      }),
    ).finish(),
    'help ref past the table': RequestV2.encode(
      RequestV2.fromObject({
        symbols: ['', 'namespace', 'team-a'],
        timeseries: [{ labelsRefs: [1, 2], metadata: { type: 1, helpRef: 9 } }],
      }),
    ).finish(),
  };
  for (const [name, message] of Object.entries(bodies)) {
    for (const host of ['prom.example', 'mimir.example']) {
      const res = await write(host, Buffer.from(snappy.compress(Buffer.from(message))));
      assert.equal(res.status, 400, `${name} via ${host}: ${res.body.toString()}`);
    }
  }
  assert.equal(upstream.requests.length, 0);
});

test('inject mode adds the missing label through the symbol table', async () => {
  const res = await write('inject.example', encodeRequestV2([{ labels: { __name__: 'scopegate_v2', pod: 'p-1' } }]));
  assert.equal(res.status, 204, res.body.toString());
  const arrived = upstream.requests[0]?.body ?? assert.fail('nothing arrived');
  assert.deepEqual(decodeRequestV2Labels(arrived), [{ __name__: 'scopegate_v2', namespace: 'team-a', pod: 'p-1' }]);
});

test('VictoriaMetrics does not read 2.0: 415 for a limited identity, nothing sent', async () => {
  const res = await write('vm.example', encodeRequestV2([series('team-a')]));
  assert.equal(res.status, 415, res.body.toString());
  assert.equal(upstream.requests.length, 0);
});

test('a full-access identity passes a v2 write untouched', async () => {
  const body = encodeRequestV2([series('anything')]);
  const res = await write('prom.example', body, 'tok-full');
  assert.equal(res.status, 204, res.body.toString());
  assert.ok(upstream.requests[0]?.body.equals(body));
});
