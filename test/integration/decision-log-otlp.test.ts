import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { findFreePort } from '../servers/free-port.js';
import { sendRaw } from '../servers/http-client.js';
import { startOtlpCollector, type OtlpCollector } from '../servers/otlp-collector.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';
import { metricValue as metricOnAdmin, untilMetric as untilMetricOnAdmin } from '../servers/admin-metrics.js';

// Issue #21 part 2, the OTLP sink: decision records as OTLP/HTTP JSON logs to a collector (and through it to
// Loki). A gateway on a real socket, a collector stand-in that parses each export strictly and records it.

let upstream: RecordingUpstream;
let tokens: TempTokenFile;

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({
    'secret-token-a': { name: 'team-a', tenant: 'team-a', namespaces: ['team-a'] },
    'secret-token-none': { name: 'no-policy', tenant: 'team-c' },
  });
});

after(async () => {
  await upstream.stop();
  await tokens.remove();
});

function gatewayConfig(decisionLog: Record<string, unknown>): Record<string, unknown> {
  return {
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'prom', match: '.*', upstream: upstream.url, type: 'prometheus', timeout: '5s' }] },
    decision_log: { sink: 'otlp', timeout: '2s', ...decisionLog },
  };
}

function query(gateway: StartedGateway, token: string, extra: Record<string, string> = {}) {
  return sendRaw(gateway.url, {
    path: `/api/v1/query?query=${encodeURIComponent('rate(http_requests_total[5m])')}`,
    headers: { authorization: `Bearer ${token}`, ...extra },
  });
}

const metricValue = (gateway: StartedGateway, name: string) => metricOnAdmin(gateway.adminUrl, name, 'sink="otlp"');
const untilMetric = (gateway: StartedGateway, name: string, atLeast: number) =>
  untilMetricOnAdmin(gateway.adminUrl, name, atLeast, { labels: 'sink="otlp"', attempts: 300 });

async function withCollector(run: (collector: OtlpCollector) => Promise<void>): Promise<void> {
  const collector = await startOtlpCollector();
  try {
    await run(collector);
  } finally {
    await collector.stop();
  }
}

test('each decision is an OTLP log record: service.name, attributes Loki keeps as structured metadata, the record as the body, never a credential', () =>
  withCollector(async (collector) => {
    const gateway = await startTestGateway(
      gatewayConfig({
        otlp_endpoint: collector.url,
        service_name: 'scopegate-test',
        batch_interval: '20ms',
        headers: { authorization: 'Bearer collector-key', 'x-scope-orgid': 'audit' },
      }),
    );
    try {
      assert.equal((await query(gateway, 'secret-token-a')).status, 200);
      assert.equal((await query(gateway, 'secret-token-a', { 'x-scope-orgid': 'team-b' })).status, 403);
      assert.equal((await query(gateway, 'secret-token-none')).status, 403);
      assert.equal((await query(gateway, 'not-a-token')).status, 401);
      const [allowed, otherTenant, noPolicy, unknown] = await collector.untilAccepted(4);
      assert.deepEqual(allowed?.resource, { 'service.name': 'scopegate-test' });
      assert.equal(allowed?.scope, 'scopegate.decision_log');
      const body = JSON.parse(allowed?.body ?? '') as Record<string, unknown>;
      assert.equal(allowed?.timeUnixNano, `${Date.parse(body.time as string)}000000`, 'the decision time, in ns, as a string');
      assert.equal(body.requestId, upstream.requests[0]?.headers['x-request-id']);
      assert.deepEqual(body.query, {
        before: 'query=rate(http_requests_total[5m])',
        after: 'query=rate(http_requests_total{namespace="team-a"}[5m])',
      });
      assert.deepEqual(body.policy, { text: 'namespace="team-a"', source: 'token_entry' });
      assert.equal(body.seq, undefined, "no chain: that is the file sink's");
      assert.deepEqual(allowed?.attributes, {
        decision: 'allow',
        status: '200',
        tenant: 'team-a',
        endpoint: 'prometheus.query',
        upstream: 'prom',
        authenticator: 'static-token',
        subject: 'team-a',
        request_id: body.requestId,
      });
      assert.deepEqual([allowed?.severityText, allowed?.severityNumber], ['INFO', 9]);
      assert.match(body.traceId as string, /^[0-9a-f]{32}$/);
      assert.equal(allowed?.traceId, body.traceId, 'the trace id, in hex: Loki keeps it as trace_id');
      assert.deepEqual(
        { ...otherTenant?.attributes, request_id: 'R' },
        {
          decision: 'deny',
          status: '403',
          code: 'tenant_not_allowed',
          endpoint: 'prometheus.query',
          upstream: 'prom',
          authenticator: 'static-token',
          subject: 'team-a',
          request_id: 'R',
        },
      );
      assert.deepEqual([otherTenant?.severityText, otherTenant?.severityNumber], ['WARN', 13]);
      assert.equal(noPolicy?.attributes.code, 'no_label_policy');
      assert.deepEqual(
        { ...unknown?.attributes, request_id: 'R' },
        { decision: 'deny', status: '401', code: 'invalid_token', authenticator: 'static-token', request_id: 'R' },
      );
      for (const request of collector.requests) {
        assert.equal(request.invalid, undefined);
        assert.equal(request.headers.authorization, 'Bearer collector-key', 'the configured headers');
        assert.equal(request.headers['x-scope-orgid'], 'audit');
        assert.equal(request.raw.indexOf('secret-token'), -1, 'no byte of a client token');
        assert.equal(request.raw.indexOf('not-a-token'), -1);
      }
    } finally {
      await gateway.stop();
    }
  }));

test('records are batched: a full batch goes at once, the rest at the interval or when the gateway stops', () =>
  withCollector(async (collector) => {
    const gateway = await startTestGateway(gatewayConfig({ otlp_endpoint: collector.url, batch_size: 3, batch_interval: '1h' }));
    try {
      for (let i = 0; i < 7; i++) assert.equal((await query(gateway, 'secret-token-a')).status, 200);
      await collector.untilAccepted(6);
      assert.deepEqual(
        collector.requests.map((r) => r.logs.length),
        [3, 3],
        'the seventh waits for its batch',
      );
    } finally {
      await gateway.stop();
    }
    assert.deepEqual(
      collector.requests.map((r) => r.logs.length),
      [3, 3, 1],
      'flushed at stop',
    );
    const ids = collector.accepted().map((log) => log.attributes.request_id);
    assert.equal(new Set(ids).size, 7);
  }));

test('the collector answers 503, then 200: the batch is sent again and delivered once', () =>
  withCollector(async (collector) => {
    collector.answerNext({ status: 503 });
    const gateway = await startTestGateway(
      gatewayConfig({ otlp_endpoint: collector.url, batch_size: 2, batch_interval: '1h', retry_backoff: '20ms' }),
    );
    try {
      for (let i = 0; i < 2; i++) assert.equal((await query(gateway, 'secret-token-a')).status, 200);
      await collector.untilAccepted(2);
      await untilMetric(gateway, 'scopegate_decision_log_lines_total', 2);
      assert.equal(await metricValue(gateway, 'scopegate_decision_log_write_errors_total'), 1);
      assert.equal(await metricValue(gateway, 'scopegate_decision_log_dropped_total'), 0);
    } finally {
      await gateway.stop();
    }
    assert.deepEqual(
      collector.requests.map((r) => r.status),
      [503, 200],
    );
    assert.deepEqual(collector.requests[1]?.raw, collector.requests[0]?.raw, 'the same batch');
    const ids = collector.accepted().map((log) => log.attributes.request_id);
    assert.equal(ids.length, 2);
    assert.equal(new Set(ids).size, 2, 'no record twice');
  }));

test('a 429 with Retry-After is honoured over the shorter back-off', () =>
  withCollector(async (collector) => {
    collector.answerNext({ status: 429, headers: { 'retry-after': '1' } });
    const gateway = await startTestGateway(gatewayConfig({ otlp_endpoint: collector.url, batch_size: 1, retry_backoff: '10ms' }));
    try {
      assert.equal((await query(gateway, 'secret-token-a')).status, 200);
      await collector.untilAccepted(1, 5000);
    } finally {
      await gateway.stop();
    }
    const [limited, retried] = collector.requests;
    assert.deepEqual([limited?.status, retried?.status], [429, 200]);
    const waited = (retried?.at ?? 0) - (limited?.at ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms after Retry-After: 1`);
    assert.ok(waited < 3000, `waited ${waited} ms`);
  }));

test('collector down, on_overflow = "drop": requests go on, the records that do not fit are counted', async () => {
  const port = await findFreePort(); // nothing listens there
  const gateway = await startTestGateway(
    gatewayConfig({ otlp_endpoint: `http://127.0.0.1:${port}/v1/logs`, batch_size: 1, max_queue: 1, retry_backoff: '10s' }),
  );
  try {
    assert.equal(await metricValue(gateway, 'scopegate_decision_log_dropped_total'), 0);
    for (let i = 0; i < 3; i++) assert.equal((await query(gateway, 'secret-token-a')).status, 200);
    await untilMetric(gateway, 'scopegate_decision_log_dropped_total', 2);
    await untilMetric(gateway, 'scopegate_decision_log_write_errors_total', 1);
  } finally {
    await gateway.stop();
  }
});

test('collector down, on_overflow = "fail_closed": requests are refused with 503 decision_log_unavailable, and not sent', async () => {
  const port = await findFreePort();
  const gateway = await startTestGateway(
    gatewayConfig({ otlp_endpoint: `http://127.0.0.1:${port}/v1/logs`, batch_size: 1, on_overflow: 'fail_closed', retry_backoff: '10s' }),
  );
  try {
    assert.equal((await query(gateway, 'secret-token-a')).status, 200, 'accepted before anything failed');
    await untilMetric(gateway, 'scopegate_decision_log_write_errors_total', 1);
    upstream.reset();
    const refused = await query(gateway, 'secret-token-a');
    assert.equal(refused.status, 503);
    assert.equal(refused.json().code, 'decision_log_unavailable');
    assert.equal(upstream.requests.length, 0, 'a request that cannot be recorded is not sent');
  } finally {
    await gateway.stop();
  }
});

test('a reload keeps the running sink: records before and after it are exported once, by one exporter', () =>
  withCollector(async (collector) => {
    const raw = gatewayConfig({ otlp_endpoint: collector.url, batch_size: 1 });
    const gateway = await startTestGateway(raw);
    try {
      assert.equal((await query(gateway, 'secret-token-a')).status, 200);
      const current = gateway.server.current() as App;
      const reloaded = await gateway.server.reload(
        parseConfig({ ...raw, admin: { listen: '127.0.0.1:0' }, proxy: { ...(raw.proxy as object), listen: '127.0.0.1:0' } }),
      );
      assert.equal(reloaded, true);
      assert.equal((gateway.server.current() as App).decisionLog, current.decisionLog, 'the same sink, handed over');
      assert.equal((await query(gateway, 'secret-token-none')).status, 403);
      const logs = await collector.untilAccepted(2);
      assert.deepEqual(
        logs.map((log) => log.attributes.decision),
        ['allow', 'deny'],
      );
    } finally {
      await gateway.stop();
    }
    assert.equal(collector.accepted().length, 2);
  }));

test('a 400 (an export the collector will never take) drops that batch, counted, and the next one goes on; a partial success counts its rejects', () =>
  withCollector(async (collector) => {
    collector.answerNext(
      { status: 400, body: '{"message":"no"}' },
      { status: 200, body: '{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"too old"}}' },
    );
    const gateway = await startTestGateway(gatewayConfig({ otlp_endpoint: collector.url, batch_size: 1, retry_backoff: '10ms' }));
    try {
      for (let i = 0; i < 3; i++) assert.equal((await query(gateway, 'secret-token-a')).status, 200);
      await untilMetric(gateway, 'scopegate_decision_log_lines_total', 2);
      assert.deepEqual(
        collector.requests.map((r) => r.status),
        [400, 200, 200],
        'the refused batch is not sent again',
      );
      assert.equal(await metricValue(gateway, 'scopegate_decision_log_dropped_total'), 2, 'the refused record and the rejected one');
    } finally {
      await gateway.stop();
    }
  }));
