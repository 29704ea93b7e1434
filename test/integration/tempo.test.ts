import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #5, Tempo: TraceQL enforced on search, tag values and metrics; OTLP ingest checked against the
// policy (every resource's namespace attribute); trace by id is filtered to the policy (tempo-trace-by-id.test.ts).
let distributor: RecordingUpstream;
let queryFrontend: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  distributor = await startRecordingUpstream();
  queryFrontend = await startRecordingUpstream();
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' },
    'tok-tenant': { tenant: 'team-a', name: 'tenant-wide' },
  });
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        {
          type: 'tempo',
          match: '.*',
          upstream: queryFrontend.url,
          components: { distributor: distributor.url, query_frontend: queryFrontend.url },
        },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  await distributor.stop();
  await queryFrontend.stop();
  await tokens.remove();
});

beforeEach(() => {
  distributor.reset();
  queryFrontend.reset();
});

const AUTH = { authorization: 'Bearer tok-a' };
const POLICY = 'resource.namespace = "team-a"';

function receivedOnce(upstream: RecordingUpstream, other: RecordingUpstream) {
  assert.equal(other.requests.length, 0, 'the other component must receive nothing');
  assert.equal(upstream.requests.length, 1);
  const [only] = upstream.requests;
  const url = new URL(only!.url, 'http://upstream');
  return { ...only!, path: url.pathname, params: url.searchParams };
}

const reads: { path: string; param: string; sent?: string; want: string }[] = [
  { path: '/api/search', param: 'q', sent: '{ span.http.status_code = 500 }', want: `{ (span.http.status_code = 500) && ${POLICY} }` },
  { path: '/api/search', param: 'q', want: `{ ${POLICY} }` },
  { path: '/api/v2/search/tag/span.http.method/values', param: 'q', sent: '{ resource.namespace = "team-b" }', want: `{ ${POLICY} }` },
  { path: '/api/metrics/query_range', param: 'q', sent: '{ } | rate()', want: `{ ${POLICY} } | rate()` },
];
for (const { path, param, sent, want } of reads) {
  test(`GET ${path} ${sent ?? '(no query)'} reaches the query-frontend with ${param} enforced`, async () => {
    const query = sent === undefined ? '' : `?${new URLSearchParams([[param, sent]])}`;
    const res = await sendRaw(gateway.url, { path: `${path}${query}`, headers: AUTH });
    assert.equal(res.status, 200, res.body.toString());
    const got = receivedOnce(queryFrontend, distributor);
    assert.equal(got.path, path);
    assert.equal(got.headers['x-scope-orgid'], 'team-a');
    assert.deepEqual(got.params.getAll(param), [want]);
  });
}

test("a trace by id reaches the query-frontend with the tenant header; an answer without the policy's spans is 404", async () => {
  const res = await sendRaw(gateway.url, { path: '/api/traces/0123456789abcdef0123456789abcdef', headers: AUTH });
  assert.equal(res.status, 404);
  const got = receivedOnce(queryFrontend, distributor);
  assert.equal(got.url, '/api/traces/0123456789abcdef0123456789abcdef');
  assert.equal(got.headers['x-scope-orgid'], 'team-a');
});

/** A hand-encoded protobuf length-delimited field. */
function field(number: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
}

/** ExportTraceServiceRequest with one ResourceSpans per namespace (resource attribute `namespace`) and a span. */
function otlpProto(...namespaces: string[]): Buffer {
  const attribute = (ns: string) => field(1, Buffer.concat([field(1, 'namespace'), field(2, field(1, ns))]));
  const span = field(2, field(2, Buffer.concat([field(1, Buffer.alloc(16, 1)), field(2, Buffer.alloc(8, 2)), field(5, 'GET /')])));
  return Buffer.concat(namespaces.map((ns) => field(1, Buffer.concat([field(1, attribute(ns)), span]))));
}

function otlpJson(...namespaces: string[]): Buffer {
  const resourceSpans = namespaces.map((ns) => ({
    resource: { attributes: [{ key: 'namespace', value: { stringValue: ns } }] },
    scopeSpans: [{ spans: [{ traceId: '01'.repeat(16), spanId: '02'.repeat(8), name: 'GET /' }] }],
  }));
  return Buffer.from(JSON.stringify({ resourceSpans }));
}

const PROTO = 'application/x-protobuf';

async function postTraces(token: string, type: string, body: Buffer, extra: Record<string, string> = {}) {
  return sendRaw(gateway.url, {
    method: 'POST',
    path: '/v1/traces',
    headers: { authorization: `Bearer ${token}`, 'content-type': type, ...extra },
    body,
  });
}

test("OTLP protobuf ingest of the policy's namespace reaches the distributor byte for byte with the tenant header", async () => {
  const body = otlpProto('team-a', 'team-a');
  const res = await postTraces('tok-a', PROTO, body);
  assert.equal(res.status, 200, res.body.toString());
  const got = receivedOnce(distributor, queryFrontend);
  assert.equal(got.path, '/v1/traces');
  assert.equal(got.headers['x-scope-orgid'], 'team-a');
  assert.equal(got.headers['content-type'], PROTO);
  assert.deepEqual(got.body, body);
});

test('OTLP protobuf ingest sent gzipped reaches the distributor as the decompressed bytes that were checked', async () => {
  const body = otlpProto('team-a');
  const res = await postTraces('tok-a', PROTO, gzipSync(body), { 'content-encoding': 'gzip' });
  assert.equal(res.status, 200, res.body.toString());
  const got = receivedOnce(distributor, queryFrontend);
  assert.equal(got.headers['content-encoding'], undefined);
  assert.deepEqual(got.body, body);
});

test("OTLP JSON ingest of the policy's namespace reaches the distributor with the same content", async () => {
  const body = otlpJson('team-a');
  const res = await postTraces('tok-a', 'application/json', body);
  assert.equal(res.status, 200, res.body.toString());
  const got = receivedOnce(distributor, queryFrontend);
  assert.equal(got.headers['x-scope-orgid'], 'team-a');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(got.body.toString()), JSON.parse(body.toString()));
});

for (const [kind, type, body] of [
  ['protobuf', PROTO, otlpProto('team-a', 'team-b')],
  ['JSON', 'application/json', otlpJson('team-a', 'team-b')],
  ['gzipped protobuf', PROTO, gzipSync(otlpProto('team-b'))],
] as const) {
  test(`OTLP ${kind} ingest with a team-b resource is 403 policy_violation and reaches nothing`, async () => {
    const extra: Record<string, string> = kind.startsWith('gzipped') ? { 'content-encoding': 'gzip' } : {};
    const res = await postTraces('tok-a', type, body, extra);
    assert.equal(res.status, 403);
    assert.equal(res.json().code, 'policy_violation');
    assert.equal(distributor.requests.length + queryFrontend.requests.length, 0);
  });
}

for (const [kind, type, body] of [
  ['protobuf', PROTO, otlpProto('team-b', 'team-c')],
  ['JSON', 'application/json', otlpJson('team-b')],
  ['undecodable', PROTO, Buffer.from([0x0a, 0x05])],
] as const) {
  test(`a tenant-wide identity's OTLP ${kind} ingest reaches the distributor unchanged`, async () => {
    const res = await postTraces('tok-tenant', type, body);
    assert.equal(res.status, 200, res.body.toString());
    const got = receivedOnce(distributor, queryFrontend);
    assert.equal(got.headers['x-scope-orgid'], 'team-a');
    assert.equal(got.headers['content-type'], type);
    assert.deepEqual(got.body, body);
  });
}

test('the legacy tags search parameter is 400 and reaches nothing', async () => {
  const res = await sendRaw(gateway.url, { path: '/api/search?tags=service.name%3Dapi', headers: AUTH });
  assert.equal(res.status, 400);
  assert.equal(res.json().code, 'tags_not_supported');
  assert.equal(queryFrontend.requests.length + distributor.requests.length, 0);
});

test('invalid TraceQL is 400 and reaches nothing', async () => {
  const res = await sendRaw(gateway.url, { path: `/api/search?q=${encodeURIComponent('{ span.a = ')}`, headers: AUTH });
  assert.equal(res.status, 400);
  assert.equal(res.json().code, 'query_parse_error');
  assert.equal(queryFrontend.requests.length + distributor.requests.length, 0);
});

test('traceql_attributes maps the policy label to the resource attribute the traces carry', async (t) => {
  const mapped = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [{ type: 'tempo', match: '.*', upstream: queryFrontend.url, traceql_attributes: { namespace: 'k8s.namespace.name' } }],
    },
  });
  t.after(() => mapped.stop());
  const res = await sendRaw(mapped.url, { path: `/api/search?q=${encodeURIComponent('{ span.http.status_code = 500 }')}`, headers: AUTH });
  assert.equal(res.status, 200, res.body.toString());
  const { params } = receivedOnce(queryFrontend, distributor);
  assert.equal(params.get('q'), '{ (span.http.status_code = 500) && resource.k8s.namespace.name = "team-a" }');
});
