import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { decodeWriteRequestLabels, encodeWriteRequest, REMOTE_WRITE_HEADERS } from '../servers/remote-write-body.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #5, Mimir preset: each path reaches its component with the tenant header and the enforced query;
// unknown paths and refused writes reach no upstream at all.
const COMPONENTS = ['main', 'distributor', 'query-frontend', 'ruler', 'alertmanager'] as const;
type Component = (typeof COMPONENTS)[number];
const upstreams = {} as Record<Component, RecordingUpstream>;
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  for (const name of COMPONENTS) upstreams[name] = await startRecordingUpstream();
  tokens = await createTempTokenFile({
    'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'limited' },
    'tok-tenant': { tenant: 'team-a', name: 'tenant-wide' },
    'tok-ab': { tenants: ['team-a', 'team-b'], name: 'two-tenants' },
    'tok-admin': { tenant: 'team-a', scopes: ['read', 'write', 'admin'], name: 'admin' },
  });
  const components = {
    distributor: upstreams.distributor.url,
    query_frontend: upstreams['query-frontend'].url,
    ruler: upstreams.ruler.url,
    alertmanager: upstreams.alertmanager.url,
  };
  const mimir = { type: 'mimir', upstream: upstreams.main.url, components };
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        { ...mimir, name: 'federating', match: 'fed\\.example', allow_federation: true, priority: 10 },
        { ...mimir, name: 'inject', match: 'inject\\.example', inject_labels_on_write: true, priority: 10 },
        { ...mimir, name: 'admin', match: 'admin\\.example', allow_admin: true, priority: 10 },
        { ...mimir, name: 'mimir', match: '.*' },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  for (const name of COMPONENTS) await upstreams[name].stop();
  await tokens.remove();
});

beforeEach(() => {
  for (const name of COMPONENTS) upstreams[name].reset();
});

interface Call {
  token: string;
  method?: string;
  path: string;
  host?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

function call({ token, method = 'GET', path, host = 'mimir.example', headers = {}, body }: Call): Promise<RawResponse> {
  return sendRaw(gateway.url, { method, path, headers: { authorization: `Bearer ${token}`, host, ...headers }, ...(body ? { body } : {}) });
}

function received(): { component: Component; method: string; url: string; tenant: unknown; body: Buffer }[] {
  return COMPONENTS.flatMap((component) =>
    upstreams[component].requests.map((r) => ({
      component,
      method: r.method,
      url: r.url,
      tenant: r.headers['x-scope-orgid'],
      body: r.body,
    })),
  );
}

/** Exactly one request arrived, at `component`; returns it with its decoded query parameters. */
function receivedOnce(component: Component) {
  const all = received();
  assert.equal(all.length, 1, `expected one upstream request, got ${JSON.stringify(all.map((r) => [r.component, r.url]))}`);
  const [only] = all;
  assert.equal(only?.component, component);
  const url = new URL(only.url, 'http://upstream');
  return { ...only, path: url.pathname, params: url.searchParams };
}

function assertRefused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(res.json().code, code);
  assert.deepEqual(received(), [], 'a refused request must reach no upstream');
}

const now = Date.now();

describe('routing to components', () => {
  const reads: { path: string; component: Component; param?: string; want?: string }[] = [
    {
      path: '/prometheus/api/v1/query?query=sum(rate(up[5m]))',
      component: 'query-frontend',
      param: 'query',
      want: 'sum(rate(up{namespace="team-a"}[5m]))',
    },
    {
      path: '/prometheus/api/v1/query_range?query=up&start=1&end=2&step=1',
      component: 'query-frontend',
      param: 'query',
      want: 'up{namespace="team-a"}',
    },
    {
      path: '/prometheus/api/v1/series?match[]={job="x"}',
      component: 'query-frontend',
      param: 'match[]',
      want: '{job="x", namespace="team-a"}',
    },
    { path: '/prometheus/api/v1/labels', component: 'query-frontend', param: 'match[]', want: '{namespace="team-a"}' },
    { path: '/prometheus/api/v1/label/job/values', component: 'query-frontend', param: 'match[]', want: '{namespace="team-a"}' },
    { path: '/prometheus/api/v1/cardinality/label_names', component: 'query-frontend', param: 'selector', want: '{namespace="team-a"}' },
    {
      path: '/prometheus/api/v1/cardinality/active_series?selector={job="x"}',
      component: 'query-frontend',
      param: 'selector',
      want: '{job="x", namespace="team-a"}',
    },
    { path: '/prometheus/api/v1/rules', component: 'ruler' },
    { path: '/prometheus/api/v1/alerts', component: 'ruler' },
    { path: '/prometheus/config/v1/rules', component: 'ruler' },
    { path: '/prometheus/config/v1/rules/ns1/group1', component: 'ruler' },
    { path: '/alertmanager/api/v2/alerts', component: 'alertmanager', param: 'filter', want: 'namespace="team-a"' },
    { path: '/alertmanager/api/v2/silences', component: 'alertmanager', param: 'filter', want: 'namespace="team-a"' },
    { path: '/ready', component: 'main' },
  ];
  for (const { path, component, param, want } of reads) {
    test(`GET ${path} reaches the ${component} as team-a${param ? ` with ${param} enforced` : ''}`, async () => {
      upstreams[component].setHandler((_r, res) => {
        // The ruler's configuration API answers YAML (filtered for the limited identity: a team-a group).
        const group = 'name: group1\nrules:\n  - record: r\n    expr: up{namespace="team-a"}\n';
        if (path.startsWith('/prometheus/config/')) {
          res.writeHead(200, { 'content-type': 'application/yaml' });
          res.end(path.endsWith('/group1') ? group : `ns1:\n  - ${group.replace(/\n(?=.)/g, '\n    ')}`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(component === 'alertmanager' ? '[]' : '{"status":"success","data":{"groups":[],"alerts":[]}}');
      });
      const res = await call({ token: 'tok-a', path });
      assert.equal(res.status, 200, res.body.toString());
      const got = receivedOnce(component);
      assert.equal(got.path, new URL(path, 'http://x').pathname);
      assert.equal(got.tenant, 'team-a');
      if (param !== undefined) assert.equal(got.params.getAll(param).at(-1), want);
    });
  }

  test('POST form queries are enforced in the body', async () => {
    const res = await call({
      token: 'tok-a',
      method: 'POST',
      path: '/prometheus/api/v1/query',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=up%7Bnamespace%3D%22team-b%22%7D',
    });
    assert.equal(res.status, 200);
    const got = receivedOnce('query-frontend');
    const query = new URLSearchParams(got.body.toString()).get('query') ?? got.params.get('query');
    assert.match(String(query), /namespace="team-a"/);
  });

  test('an identity without a policy queries its tenant unchanged (Mimir isolates by header)', async () => {
    const res = await call({ token: 'tok-tenant', path: '/prometheus/api/v1/query?query=up' });
    assert.equal(res.status, 200);
    const got = receivedOnce('query-frontend');
    assert.equal(got.params.get('query'), 'up');
    assert.equal(got.tenant, 'team-a');
  });

  const unknown = [
    '/api/v1/query?query=up',
    '/prometheus/api/v1/read',
    '/config',
    '/distributor/all_user_stats',
    '/prometheus/api/v1/status/config',
    '/alertmanager',
  ];
  for (const path of unknown) {
    test(`${path} is 404 and reaches no upstream`, async () => {
      assertRefused(await call({ token: 'tok-tenant', path }), 404, 'unknown_endpoint');
    });
  }
});

describe('writes', () => {
  const sample = (labels: Record<string, string>) => ({ labels, samples: [[1, now]] as [number, number][] });

  test('remote write inside the policy reaches the distributor byte for byte', async () => {
    const body = encodeWriteRequest([sample({ __name__: 'up', namespace: 'team-a' })]);
    const res = await call({ token: 'tok-a', method: 'POST', path: '/api/v1/push', headers: REMOTE_WRITE_HEADERS, body });
    assert.equal(res.status, 200);
    const got = receivedOnce('distributor');
    assert.equal(got.tenant, 'team-a');
    assert.deepEqual(got.body, body);
  });

  test('remote write carrying another namespace is 403 and nothing is forwarded', async () => {
    const body = encodeWriteRequest([sample({ __name__: 'up', namespace: 'team-a' }), sample({ __name__: 'up', namespace: 'team-b' })]);
    assertRefused(
      await call({ token: 'tok-a', method: 'POST', path: '/api/v1/push', headers: REMOTE_WRITE_HEADERS, body }),
      403,
      'policy_violation',
    );
  });

  test('inject mode adds the missing label', async () => {
    const body = encodeWriteRequest([sample({ __name__: 'up', job: 'x' })]);
    const res = await call({
      token: 'tok-a',
      host: 'inject.example',
      method: 'POST',
      path: '/api/v1/push',
      headers: REMOTE_WRITE_HEADERS,
      body,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(decodeWriteRequestLabels(receivedOnce('distributor').body), [{ __name__: 'up', job: 'x', namespace: 'team-a' }]);
  });

  test('OTLP metrics cannot be checked: refused with a policy, forwarded without one', async () => {
    const otlp = {
      token: 'tok-a',
      method: 'POST',
      path: '/otlp/v1/metrics',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0x00]),
    };
    assertRefused(await call(otlp), 403, 'full_access_required');
    const res = await call({ ...otlp, token: 'tok-tenant' });
    assert.equal(res.status, 200);
    assert.equal(receivedOnce('distributor').tenant, 'team-a');
  });

  test('rule configuration changes are refused for a limited identity, allowed tenant-wide', async () => {
    const change = {
      method: 'POST',
      path: '/prometheus/config/v1/rules/ns1',
      headers: { 'content-type': 'application/yaml' },
      body: 'name: g\nrules: []\n',
    };
    assertRefused(await call({ ...change, token: 'tok-a' }), 403, 'full_access_required');
    assert.equal((await call({ ...change, token: 'tok-tenant' })).status, 200);
    assert.equal(receivedOnce('ruler').method, 'POST');
  });

  test('the Alertmanager configuration is admin only', async () => {
    assertRefused(await call({ token: 'tok-tenant', path: '/api/v1/alerts' }), 403, 'admin_endpoint_blocked');
    assertRefused(await call({ token: 'tok-tenant', host: 'admin.example', path: '/api/v1/alerts' }), 403, 'scope_not_allowed');
    assert.equal((await call({ token: 'tok-admin', host: 'admin.example', path: '/api/v1/alerts' })).status, 200);
    assert.equal(receivedOnce('alertmanager').path, '/api/v1/alerts');
  });
});

describe('tenant federation', () => {
  test('a|b is sent for reads only where allow_federation is set', async () => {
    const path = '/prometheus/api/v1/query?query=up';
    assertRefused(
      await call({ token: 'tok-ab', path, headers: { 'x-scope-orgid': 'team-a|team-b' } }),
      403,
      'tenant_federation_not_allowed',
    );
    const res = await call({ token: 'tok-ab', host: 'fed.example', path, headers: { 'x-scope-orgid': 'team-a|team-b' } });
    assert.equal(res.status, 200);
    assert.equal(receivedOnce('query-frontend').tenant, 'team-a|team-b');
  });

  test('a write must name exactly one tenant, even where reads federate', async () => {
    const body = encodeWriteRequest([sample({ __name__: 'up' })]);
    const push = { token: 'tok-ab', host: 'fed.example', method: 'POST', path: '/api/v1/push', body };
    assertRefused(
      await call({ ...push, headers: { ...REMOTE_WRITE_HEADERS, 'x-scope-orgid': 'team-a|team-b' } }),
      400,
      'write_needs_one_tenant',
    );
    assertRefused(await call({ ...push, headers: REMOTE_WRITE_HEADERS }), 400, 'tenant_required');
    const res = await call({ ...push, headers: { ...REMOTE_WRITE_HEADERS, 'x-scope-orgid': 'team-b' } });
    assert.equal(res.status, 200);
    assert.equal(receivedOnce('distributor').tenant, 'team-b');
  });

  function sample(labels: Record<string, string>) {
    return { labels, samples: [[1, now]] as [number, number][] };
  }
});
