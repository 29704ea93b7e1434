import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #5, Tempo: TraceQL enforced on search, tag values and metrics; OTLP ingest passes with the tenant
// header only; trace by id is filtered to the policy (tempo-trace-by-id.test.ts).
let distributor: RecordingUpstream;
let queryFrontend: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  distributor = await startRecordingUpstream();
  queryFrontend = await startRecordingUpstream();
  tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' } });
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

test('a trace by id reaches the query-frontend with the tenant header; an answer without the policy\'s spans is 404', async () => {
  const res = await sendRaw(gateway.url, { path: '/api/traces/0123456789abcdef0123456789abcdef', headers: AUTH });
  assert.equal(res.status, 404);
  const got = receivedOnce(queryFrontend, distributor);
  assert.equal(got.url, '/api/traces/0123456789abcdef0123456789abcdef');
  assert.equal(got.headers['x-scope-orgid'], 'team-a');
});

for (const [kind, type, body] of [
  ['protobuf', 'application/x-protobuf', Buffer.from([0x0a, 0x02, 0x0a, 0x00])],
  ['JSON', 'application/json', Buffer.from('{"resourceSpans":[]}')],
] as const) {
  test(`OTLP ${kind} ingest reaches the distributor byte for byte with the tenant header`, async () => {
    const res = await sendRaw(gateway.url, { method: 'POST', path: '/v1/traces', headers: { ...AUTH, 'content-type': type }, body });
    assert.equal(res.status, 200);
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
