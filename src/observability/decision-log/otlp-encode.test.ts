import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeExportRequest, encodeLogRecord, encodeResource } from './otlp-encode.js';
import { retryAfterMs } from './otlp-export.js';
import type { DecisionRecord } from './record.js';

const record: DecisionRecord = {
  time: '2026-12-06T05:31:02.114Z',
  requestId: 'r-1',
  traceId: '0'.repeat(32),
  decision: 'error',
  code: 'upstream_unavailable',
  status: 502,
  method: 'GET',
  durationMs: 1,
  decidedBy: 'static-token',
  tenants: ['a', 'b'],
  query: { before: 'query="quoted"\nq=\\' },
};

test('a log record in the OTLP JSON mapping: int64 as strings, an all-zero trace id left out, the record as the body', () => {
  const request = JSON.parse(encodeExportRequest(encodeResource('gw', '1.2.3'), [encodeLogRecord(record), encodeLogRecord(record)])) as {
    resourceLogs: { resource: unknown; scopeLogs: { logRecords: Record<string, unknown>[] }[] }[];
  };
  assert.deepEqual(request.resourceLogs[0]?.resource, {
    attributes: [
      { key: 'service.name', value: { stringValue: 'gw' } },
      { key: 'service.version', value: { stringValue: '1.2.3' } },
    ],
  });
  const logRecords = request.resourceLogs[0]?.scopeLogs[0]?.logRecords ?? [];
  assert.equal(logRecords.length, 2);
  const [first] = logRecords;
  assert.equal(first?.timeUnixNano, '1796535062114000000');
  assert.equal(first?.severityNumber, 17);
  assert.equal(first?.traceId, undefined);
  assert.deepEqual(JSON.parse((first?.body as { stringValue: string } | undefined)?.stringValue ?? ''), record);
  assert.deepEqual(first?.attributes, [
    { key: 'decision', value: { stringValue: 'error' } },
    { key: 'status', value: { intValue: '502' } },
    { key: 'code', value: { stringValue: 'upstream_unavailable' } },
    { key: 'tenant', value: { stringValue: 'a|b' } },
    { key: 'authenticator', value: { stringValue: 'static-token' } },
    { key: 'request_id', value: { stringValue: 'r-1' } },
  ]);
});

test('Retry-After: seconds or an HTTP date, bounded; anything else is ignored', () => {
  const now = Date.parse('2026-12-06T05:00:00Z');
  assert.equal(retryAfterMs('2', now), 2000);
  assert.equal(retryAfterMs(['3', '9'], now), 3000);
  assert.equal(retryAfterMs('Sun, 06 Dec 2026 05:00:05 GMT', now), 5000);
  assert.equal(retryAfterMs('Sun, 06 Dec 2026 04:00:00 GMT', now), 0);
  assert.equal(retryAfterMs('999999', now), 300_000);
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});
