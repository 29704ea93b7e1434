import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS, type WriteSeries } from '../servers/remote-write-body.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #5, metrics write path: remote write through the gateway into a real Prometheus (remote-write
// receiver on). Written samples are readable back by their tenant only; a write into another tenant's
// labels is refused whole and leaves nothing behind.
let prometheus: PrometheusServer;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  prometheus = await startPrometheus();
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' },
    'tok-b': { tenant: 'team-b', namespace: 'team-b', name: 'team-b' },
  });
  const base = { type: 'prometheus', upstream: prometheus.url, allow_write: true };
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        { ...base, name: 'inject', match: 'inject\\.example', inject_labels_on_write: true, priority: 10 },
        { ...base, name: 'prometheus', match: '.*' },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  await prometheus.stop();
  await tokens.remove();
});

function write(token: string, series: readonly WriteSeries[], host = 'prometheus.example'): Promise<RawResponse> {
  return sendRaw(gateway.url, {
    method: 'POST',
    path: '/api/v1/write',
    headers: { ...REMOTE_WRITE_HEADERS, authorization: `Bearer ${token}`, host },
    body: encodeWriteRequest(series),
  });
}

interface VectorResult {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** The instant vector of `query` at now, through the gateway as `token` (or straight from Prometheus). */
async function query(query: string, token?: string): Promise<VectorResult['data']['result']> {
  const path = `/api/v1/query?query=${encodeURIComponent(query)}&time=${Date.now() / 1000}`;
  const res =
    token === undefined
      ? await sendRaw(prometheus.url, { path })
      : await sendRaw(gateway.url, { path, headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.body.toString());
  return res.json<VectorResult>().data.result;
}

const at = (value: number): [number, number] => [value, Date.now()];

test('team-a writes samples that team-a reads back and team-b does not see', async () => {
  const res = await write('tok-a', [{ labels: { __name__: 'scopegate_rw_written', namespace: 'team-a', job: 'rw' }, samples: [at(42)] }]);
  assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.body.toString()}`);
  const seen = await query('scopegate_rw_written', 'tok-a');
  assert.deepEqual(
    seen.map((s) => [s.metric, s.value[1]]),
    [[{ __name__: 'scopegate_rw_written', namespace: 'team-a', job: 'rw' }, '42']],
  );
  assert.deepEqual(await query('scopegate_rw_written', 'tok-b'), []);
});

test('a write carrying namespace team-b by team-a is 403 and nothing of it reaches Prometheus', async () => {
  const res = await write('tok-a', [
    { labels: { __name__: 'scopegate_rw_refused', namespace: 'team-a' }, samples: [at(1)] },
    { labels: { __name__: 'scopegate_rw_refused', namespace: 'team-b' }, samples: [at(2)] },
  ]);
  assert.equal(res.status, 403, res.body.toString());
  assert.equal(res.json().code, 'policy_violation');
  // Read Prometheus directly: not even the allowed series of the refused request was written.
  assert.deepEqual(await query('scopegate_rw_refused'), []);
});

test('a series without the policy label is refused unless the upstream injects it', async () => {
  const series = [{ labels: { __name__: 'scopegate_rw_injected', job: 'rw' }, samples: [at(7)] }];
  const refused = await write('tok-a', series);
  assert.equal(refused.status, 403);
  assert.deepEqual(await query('scopegate_rw_injected'), []);

  const res = await write('tok-a', series, 'inject.example');
  assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.body.toString()}`);
  const stored = await query('scopegate_rw_injected');
  assert.deepEqual(
    stored.map((s) => s.metric),
    [{ __name__: 'scopegate_rw_injected', job: 'rw', namespace: 'team-a' }],
  );
  assert.equal((await query('scopegate_rw_injected', 'tok-a')).length, 1);
  assert.deepEqual(await query('scopegate_rw_injected', 'tok-b'), []);
});
