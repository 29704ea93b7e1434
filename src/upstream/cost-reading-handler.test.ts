import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeController, recordingHandler } from '../../test/servers/recording-handler.js';
import { LOKI_STATS, MIMIR_SERVER_TIMING, PROMETHEUS_STATS } from '../routing/presets/cost-reports.js';
import type { CostReport } from '../routing/endpoint.js';
import { CostReadingHandler, type ResponseCost } from './cost-reading-handler.js';

const RESULT =
  '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"stats":"{\\"stats\\":{","__name__":"up"},"value":[1,"1"]}]';
const STATS = ',"stats":{"timings":{"evalTotalTime":0.01},"samples":{"totalQueryableSamples":1234,"peakSamples":7}}';
const WITH_STATS = `${RESULT}${STATS}},"warnings":["w"]}`;
const WITHOUT_STATS = `${RESULT}},"warnings":["w"]}`;

function run(
  report: CostReport,
  strip: boolean,
  chunks: string[],
  headers: Record<string, string> = {},
  statusCode = 200,
  maxBytes = 1024,
) {
  const next = recordingHandler();
  const controller = new FakeController();
  const cost: ResponseCost = { bytes: 0, reported: undefined };
  const handler = new CostReadingHandler(next, report, cost, strip, maxBytes);
  handler.onRequestStart(controller, {});
  handler.onResponseStart(controller, statusCode, { 'content-type': 'application/json', 'content-length': '999', ...headers });
  for (const chunk of chunks) handler.onResponseData(controller, Buffer.from(chunk));
  handler.onResponseEnd(controller, {});
  const body = next.events.map((e) => (e.event === 'data' ? e.chunk : '')).join('');
  const head = next.events.find((e) => e.event === 'head');
  return { body, cost, headers: head?.event === 'head' ? head.headers : {} };
}

/** Every way of cutting the body in two and three pieces. */
function splits(text: string): string[][] {
  const out: string[][] = [[text]];
  for (let i = 1; i < text.length; i += 1) {
    out.push([text.slice(0, i), text.slice(i)]);
    if (i + 3 < text.length) out.push([text.slice(0, i), text.slice(i, i + 3), text.slice(i + 3)]);
  }
  return out;
}

test('strip: the stats member is removed and read, wherever the chunks are cut', () => {
  for (const chunks of splits(WITH_STATS)) {
    const { body, cost, headers } = run(PROMETHEUS_STATS, true, chunks);
    assert.equal(body, WITHOUT_STATS, JSON.stringify(chunks));
    assert.deepEqual(JSON.parse(body), JSON.parse(WITHOUT_STATS));
    assert.deepEqual(cost.reported, { samples: 1234 });
    assert.equal(cost.bytes, WITHOUT_STATS.length);
    assert.equal(headers['content-length'], undefined, 'the length changed: chunked');
  }
});

test('strip: a body without the member goes on whole', () => {
  for (const chunks of splits(WITHOUT_STATS)) {
    const { body, cost } = run(PROMETHEUS_STATS, true, chunks);
    assert.equal(body, WITHOUT_STATS);
    assert.equal(cost.reported, undefined);
  }
});

test('read: the body streams untouched, chunk by chunk, and the stats are read', () => {
  for (const chunks of splits(WITH_STATS)) {
    const { body, cost, headers } = run(PROMETHEUS_STATS, false, chunks);
    assert.equal(body, WITH_STATS);
    assert.deepEqual(cost.reported, { samples: 1234 });
    assert.equal(headers['content-length'], '999');
  }
});

test('strip: a member longer than the bound is given up and sent as it came (memory stays bounded)', () => {
  const { body, cost } = run(PROMETHEUS_STATS, true, [RESULT, STATS.slice(0, 40), STATS.slice(40), '}}'], {}, 200, 16);
  assert.equal(body, `${RESULT}${STATS}}}`);
  assert.equal(cost.reported, undefined);
});

test('an error status, or a coded body, passes untouched and unread', () => {
  assert.equal(run(PROMETHEUS_STATS, true, [WITH_STATS], {}, 400).body, WITH_STATS);
  const coded = run(PROMETHEUS_STATS, true, [WITH_STATS], { 'content-encoding': 'gzip' });
  assert.equal(coded.body, WITH_STATS);
  assert.equal(coded.headers['content-length'], '999');
  assert.equal(coded.cost.reported, undefined);
});

test("Loki's stats.summary is read, never removed", () => {
  const loki =
    '{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1","line \\"summary\\":{"]]}],"stats":{"summary":{"totalBytesProcessed":2048,"totalLinesProcessed":12,"execTime":0.5},"querier":{}}}}';
  for (const chunks of splits(loki)) {
    const { body, cost } = run(LOKI_STATS, false, chunks);
    assert.equal(body, loki);
    assert.deepEqual(cost.reported, { bytesProcessed: 2048, linesProcessed: 12 });
  }
});

test("Mimir's Server-Timing header is read, in either entry form", () => {
  const named = run(MIMIR_SERVER_TIMING, false, ['{}'], {
    'server-timing': 'querier_wall_time;dur=1.5, samples_processed;val=420, bytes_processed=100',
  });
  assert.deepEqual(named.cost.reported, { samples: 420, bytesProcessed: 100 });
  const plain = run(MIMIR_SERVER_TIMING, false, ['{}'], { 'server-timing': 'response_time;dur=2, samples_processed=9' });
  assert.deepEqual(plain.cost.reported, { samples: 9 });
});
