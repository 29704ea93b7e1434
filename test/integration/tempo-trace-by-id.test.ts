import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';
import type { RecordedRequest } from '../servers/recording-upstream.js';

// Trace by id for identities with a label policy: one trace holds spans of several namespaces of the same
// tenant; each limited identity sees only its own resource spans, and a trace with none of them is 404.

const TRACE_ID = '0123456789abcdef0123456789abcdef';

function resourceSpans(namespace: string, spanName: string) {
  return {
    resource: {
      attributes: [
        { key: 'k8s.namespace.name', value: { stringValue: namespace } },
        { key: 'service.name', value: { stringValue: spanName } },
      ],
    },
    scopeSpans: [{ scope: { name: 'test' }, spans: [{ traceId: 'ASNFZ4mrze8BI0VniavN7w==', spanId: 'AAAAAAAAAAE=', name: spanName }] }],
  };
}
const TEAM_A = resourceSpans('team-a', 'frontend');
const TEAM_B = resourceSpans('team-b', 'payments');
const TEAM_C = resourceSpans('team-c', 'ledger');

/** What the upstream answers, by path: v1 `batches`, v2 `trace.resourceSpans` with a status. */
let spans: unknown[] = [TEAM_A, TEAM_B];

function answerTrace(request: RecordedRequest, res: ServerResponse): void {
  const accept = request.headers['accept'] ?? '';
  if (accept.includes('protobuf')) {
    res.writeHead(200, { 'content-type': 'application/protobuf' });
    res.end(Buffer.from([0x0a, 0x00]));
    return;
  }
  const body = request.url.startsWith('/api/v2/') ? { trace: { resourceSpans: spans }, status: 'COMPLETE' } : { batches: spans };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const fixture = gatewayFixture({
  tokens: {
    'tok-a': { tenant: 'acme', namespace: 'team-a', name: 'team-a' },
    'tok-b': { tenant: 'acme', namespace: 'team-b', name: 'team-b' },
    'tok-full': { tenant: 'acme', namespace: '.*', name: 'full' },
    'tok-tenant': { tenant: 'acme', name: 'tenant-wide' },
  },
  upstream: { handler: answerTrace },
  config: (queryFrontend) => ({
    proxy: {
      upstreams: [{ type: 'tempo', match: '.*', upstream: queryFrontend, traceql_attributes: { namespace: 'k8s.namespace.name' } }],
    },
  }),
});
beforeEach(() => {
  fixture.upstream.setHandler(answerTrace);
  spans = [TEAM_A, TEAM_B];
});

function get(path: string, token: string, headers: Record<string, string> = {}) {
  return sendRaw(fixture.gateway.url, { path, headers: { authorization: `Bearer ${token}`, ...headers } });
}

function onlyRequest(): RecordedRequest {
  assert.equal(fixture.upstream.requests.length, 1);
  return fixture.upstream.requests[0]!;
}

const PATHS = [
  { path: `/api/traces/${TRACE_ID}`, list: (body: Record<string, unknown>) => body.batches },
  { path: `/api/v2/traces/${TRACE_ID}`, list: (body: Record<string, unknown>) => (body.trace as Record<string, unknown>).resourceSpans },
];

for (const { path, list } of PATHS) {
  for (const [token, want] of [
    ['tok-a', TEAM_A],
    ['tok-b', TEAM_B],
  ] as const) {
    test(`GET ${path} as ${token} returns only its own resource spans`, async () => {
      const res = await get(path, token);
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(list(res.json()), [want]);
      const got = onlyRequest();
      assert.equal(got.url, path);
      assert.equal(got.headers['x-scope-orgid'], 'acme');
      assert.equal(got.headers['accept'], 'application/json');
      assert.equal(got.headers['accept-encoding'], 'identity');
    });
  }

  test(`GET ${path} as team-a for a trace with none of its spans is 404`, async () => {
    spans = [TEAM_B, TEAM_C];
    const res = await get(path, 'tok-a');
    assert.equal(res.status, 404);
    assert.equal(res.json().code, 'trace_not_found');
    assert.doesNotMatch(res.body.toString(), /payments|ledger|team-b|team-c/);
    assert.equal(res.headers['content-type'], 'application/json');
  });

  test(`GET ${path} overrides a client's protobuf Accept for a limited identity`, async () => {
    const res = await get(path, 'tok-a', { accept: 'application/protobuf', 'accept-encoding': 'gzip' });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(list(res.json()), [TEAM_A]);
    const got = onlyRequest();
    assert.equal(got.headers['accept'], 'application/json');
    assert.equal(got.headers['accept-encoding'], 'identity');
  });

  for (const token of ['tok-full', 'tok-tenant']) {
    test(`GET ${path} as ${token} gets the whole trace unchanged`, async () => {
      spans = [TEAM_A, TEAM_B, TEAM_C];
      const res = await get(path, token);
      assert.equal(res.status, 200);
      assert.deepEqual(list(res.json()), [TEAM_A, TEAM_B, TEAM_C]);
      const upstreamBody = path.includes('/v2/') ? { trace: { resourceSpans: spans }, status: 'COMPLETE' } : { batches: spans };
      assert.equal(res.body.toString(), JSON.stringify(upstreamBody));
    });

    test(`GET ${path} as ${token} keeps the client's Accept and Accept-Encoding (streamed, not filtered)`, async () => {
      const res = await get(path, token, { accept: 'application/protobuf', 'accept-encoding': 'gzip' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/protobuf');
      assert.deepEqual(res.body, Buffer.from([0x0a, 0x00]));
      assert.equal(onlyRequest().headers['accept'], 'application/protobuf');
      assert.equal(onlyRequest().headers['accept-encoding'], 'gzip');
    });
  }
}

test('an upstream answer that is not a JSON trace is 502 for a limited identity, never passed through', async () => {
  fixture.upstream.setHandler((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/protobuf' });
    res.end(Buffer.from([0x0a, 0x00]));
  });
  const res = await get(`/api/traces/${TRACE_ID}`, 'tok-a');
  assert.equal(res.status, 502);
  assert.equal(res.json().code, 'upstream_bad_response');
});
