import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #21, part 3: Loki's and Mimir's own cost reports, through real sockets (no Loki or Mimir binary here:
// an upstream answering in their documented shapes). Loki's stats are read and left in the answer; Mimir's
// Server-Timing header is read; neither is asked for `stats`.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;

const LOKI_ANSWER = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'streams',
    result: [{ stream: { app: 'api' }, values: [['1700000000000000000', 'a line with "summary":{ in it']] }],
    stats: {
      summary: {
        bytesProcessedPerSecond: 10,
        linesProcessedPerSecond: 1,
        totalBytesProcessed: 4096,
        totalLinesProcessed: 32,
        execTime: 0.25,
        queueTime: 0,
      },
      querier: { store: {} },
    },
  },
});
const MIMIR_ANSWER = '{"status":"success","data":{"resultType":"vector","result":[]}}';

before(async () => {
  upstream = await startRecordingUpstream();
  upstream.setHandler((request, res) => {
    if (request.url.startsWith('/loki/')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(LOKI_ANSWER) }).end(LOKI_ANSWER);
      return;
    }
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'server-timing': 'querier_wall_time;dur=12.5, samples_processed;val=777, bytes_processed;val=2048',
      })
      .end(MIMIR_ANSWER);
  });
  tokens = await createTempTokenFile({ 'tok-l': { tenant: 'logs', name: 'lena' }, 'tok-m': { tenant: 'metrics', name: 'mo' } });
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    query_cost: { enabled: true },
    proxy: {
      upstreams: [
        { name: 'loki', match: 'loki\\.example', upstream: upstream.url, type: 'loki', priority: 10 },
        { name: 'mimir', match: 'mimir\\.example', upstream: upstream.url, type: 'mimir' },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

async function metricsText(): Promise<string> {
  return (await fetch(`${gateway.adminUrl}/metrics`)).text();
}

test("Loki's stats.summary is read, and the answer reaches the client byte for byte", async () => {
  const res = await sendRaw(gateway.url, {
    path: '/loki/api/v1/query_range?query=%7Bapp%3D%22api%22%7D&limit=10',
    headers: { host: 'loki.example', authorization: 'Bearer tok-l' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString('utf8'), LOKI_ANSWER);
  assert.doesNotMatch(upstream.requests[0]?.url ?? '', /stats=/);
  const text = await metricsText();
  assert.match(text, /^scopegate_query_processed_bytes_total\{tenant="logs",identity="lena"\} 4096$/m);
  assert.match(
    text,
    new RegExp(`^scopegate_query_response_bytes_total\\{tenant="logs",identity="lena"\\} ${Buffer.byteLength(LOKI_ANSWER)}$`, 'm'),
  );
  assert.doesNotMatch(text, /^scopegate_query_samples_total\{tenant="logs"/m, 'Loki reports no samples');
});

test("Mimir's Server-Timing samples are read, and no stats are asked for", async () => {
  upstream.reset();
  const res = await sendRaw(gateway.url, {
    path: '/prometheus/api/v1/query?query=up',
    headers: { host: 'mimir.example', authorization: 'Bearer tok-m' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString('utf8'), MIMIR_ANSWER);
  assert.doesNotMatch(upstream.requests[0]?.url ?? '', /stats=/);
  const text = await metricsText();
  assert.match(text, /^scopegate_query_samples_total\{tenant="metrics",identity="mo"\} 777$/m);
  assert.match(text, /^scopegate_query_processed_bytes_total\{tenant="metrics",identity="mo"\} 2048$/m);
});
