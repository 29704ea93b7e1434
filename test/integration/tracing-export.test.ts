import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Cleanup, startGatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';
import type { RecordingUpstream } from '../servers/recording-upstream.js';

// Operations: with `[tracing]`, one SERVER span per request reaches an OpenTelemetry collector over OTLP/HTTP
// (the SDK's own exporter), continuing the caller's trace, parent of what the upstream sees, with the
// access-log fields as attributes and never a credential. The collector here is a recording upstream.

const TOKEN = 'tok-secret-a1b2c3d4';
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
  status?: { code?: number };
}

/** Every span the collector received, with its resource's service.name. */
function exportedSpans(collector: RecordingUpstream): (OtlpSpan & { service: string | undefined })[] {
  return collector.requests.flatMap((request) => {
    assert.equal(request.url, '/v1/traces');
    assert.match(String(request.headers['content-type']), /^application\/json/);
    const body = JSON.parse(request.body.toString()) as {
      resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    return body.resourceSpans.flatMap((rs) => {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
      return rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ ...span, service })));
    });
  });
}

function attribute(span: OtlpSpan, key: string): string | number | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
}

async function setup(t: Cleanup, tracing: Record<string, unknown>) {
  const { upstream, upstreams, gateway } = await startGatewayFixture(t, {
    tokens: { [TOKEN]: { tenant: 'tenant-a', name: 'alice' } },
    upstreams: {
      collector: {
        handler: (_request, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        },
      },
    },
    config: (upstream, { collector }) => ({
      log_level: 'warn',
      proxy: { upstreams: [{ name: 'loki', match: '.*', upstream }] },
      tracing: { otlp_endpoint: `${collector}/v1/traces`, service_name: 'gateway-eu1', ...tracing },
    }),
  });
  return { collector: upstreams.collector, upstream, gateway };
}

test("each request is one exported SERVER span: the caller's trace continued, parent of the upstream's", async (t) => {
  const { collector, upstream, gateway } = await setup(t, {});
  const traced = await sendRaw(gateway.url, {
    path: '/loki/api/v1/labels?query=secret-query-text',
    headers: { authorization: `Bearer ${TOKEN}`, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  });
  assert.equal(traced.status, 200);
  const refused = await sendRaw(gateway.url, { path: '/ready', headers: { authorization: 'Bearer wrong-token-zzz' } });
  assert.equal(refused.status, 401);
  await gateway.stop(); // flushes the batch

  const sent = String(upstream.requests[0]?.headers.traceparent);
  const [, traceId, gatewaySpan, flags] = sent.split('-');
  assert.equal(traceId, CALLER_TRACE);
  assert.equal(flags, '01');

  const spans = exportedSpans(collector);
  assert.equal(spans.length, 2, JSON.stringify(spans));
  const ok = spans.find((s) => s.traceId === CALLER_TRACE);
  assert.ok(ok, "the span continues the caller's trace");
  assert.equal(ok.spanId, gatewaySpan, "the upstream's parent is the gateway's span");
  assert.equal(ok.parentSpanId, CALLER_SPAN);
  assert.equal(ok.kind, 2, 'SERVER');
  assert.equal(ok.service, 'gateway-eu1');
  assert.equal(ok.name, 'GET raw.read');
  assert.equal(attribute(ok, 'http.response.status_code'), 200);
  assert.equal(attribute(ok, 'scopegate.tenant'), 'tenant-a');
  assert.equal(attribute(ok, 'scopegate.upstream'), 'loki');
  assert.equal(attribute(ok, 'url.path'), '/loki/api/v1/labels');

  const denied = spans.find((s) => s.traceId !== CALLER_TRACE);
  assert.ok(denied);
  assert.equal(denied.parentSpanId ?? '', '', 'a trace the gateway starts has no parent');
  assert.equal(attribute(denied, 'http.response.status_code'), 401);
  assert.equal(attribute(denied, 'scopegate.error_code'), 'invalid_token');

  const exported = collector.requests.map((r) => r.body.toString()).join('\n');
  for (const secret of [TOKEN, 'wrong-token-zzz', 'secret-query-text']) assert.ok(!exported.includes(secret), `${secret} was exported`);
});

test("sample_ratio 0: traces the gateway starts are not recorded, a caller's sampled trace still is", async (t) => {
  const { collector, upstream, gateway } = await setup(t, { sample_ratio: 0 });
  assert.equal((await sendRaw(gateway.url, { path: '/ready', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  const sampled = { authorization: `Bearer ${TOKEN}`, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` };
  assert.equal((await sendRaw(gateway.url, { path: '/ready', headers: sampled })).status, 200);
  await gateway.stop();
  assert.match(String(upstream.requests[0]?.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'not sampled');
  const spans = exportedSpans(collector);
  assert.deepEqual(
    spans.map((s) => s.traceId),
    [CALLER_TRACE],
  );
});

test('a collector that is down costs no request; the failed export is a warning in the log', async (t) => {
  const { gateway } = await startGatewayFixture(t, {
    tokens: { [TOKEN]: 'tenant-a' },
    config: (upstream) => ({
      log_level: 'warn',
      proxy: { upstreams: [{ match: '.*', upstream }] },
      tracing: { otlp_endpoint: 'http://127.0.0.1:9/v1/traces' },
    }),
  });
  assert.equal((await sendRaw(gateway.url, { path: '/ready', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  await gateway.stop(); // the flush fails
  const warnings = gateway.logs.filter((line) => String(line.msg).startsWith('tracing: '));
  assert.ok(warnings.length > 0, JSON.stringify(gateway.logs));
  assert.ok(!JSON.stringify(gateway.logs).includes(TOKEN));
});
