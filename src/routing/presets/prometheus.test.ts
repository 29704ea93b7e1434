import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIdentity } from '../../identity/identity.js';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { HttpError } from '../../core/http-errors.js';
import type { EnforceContext, Endpoint, ProxyRequest } from '../endpoint.js';
import { prometheusPreset } from './prometheus.js';

const POLICY = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const FORM = 'application/x-www-form-urlencoded';

function context(policy: LabelPolicy | undefined, native = false, tenants = ['t1']): EnforceContext {
  const identity = createIdentity({ subject: 'u', tenants, policy, authenticator: 'test' });
  return {
    identity,
    policy,
    tenants,
    options: { policyLabel: 'namespace', injectLabelsOnWrite: false, nativeLabelPolicyHeader: native },
  };
}

function endpoint(path: string, method = 'GET'): Endpoint {
  const found = prometheusPreset.endpoints.find(
    (e) => e.methods.includes(method) && (typeof e.path === 'string' ? e.path === path : e.path.test(path)),
  );
  assert.ok(found, `no endpoint for ${method} ${path}`);
  return found;
}

function request(method: string, path: string, query: string, body?: string, contentType = FORM): ProxyRequest {
  return {
    method,
    path,
    query,
    headers: body === undefined ? {} : { 'content-type': contentType, 'content-length': String(body.length) },
    body: body === undefined ? undefined : Buffer.from(body),
  };
}

async function run(req: ProxyRequest, ctx = context(POLICY)): Promise<[string, string][]> {
  await endpoint(req.path, req.method).transformRequest?.(req, ctx);
  return [...new URLSearchParams(req.body?.toString() ?? req.query)];
}

describe('prometheus preset transforms', () => {
  it('GET query: every URL occurrence enforced', async () => {
    const req = request('GET', '/api/v1/query', 'query=up&query=secret&time=5');
    assert.deepEqual(await run(req), [
      ['query', 'up{namespace="team-a"}'],
      ['query', 'secret{namespace="team-a"}'],
      ['time', '5'],
    ]);
    assert.equal(req.body, undefined);
  });

  it('POST query_range: body and URL duplicates all enforced and moved into one body', async () => {
    const req = request('POST', '/api/v1/query_range', 'query=from_url', 'query=from_body&step=15');
    assert.deepEqual(await run(req), [
      ['query', 'from_body{namespace="team-a"}'],
      ['step', '15'],
      ['query', 'from_url{namespace="team-a"}'],
    ]);
    assert.equal(req.query, '');
    assert.equal(req.headers['content-type'], FORM);
  });

  it('percent-encoded key %71uery is enforced too', async () => {
    const req = request('POST', '/api/v1/query', '%71uery=secret', 'query=up');
    assert.deepEqual(await run(req), [
      ['query', 'up{namespace="team-a"}'],
      ['query', 'secret{namespace="team-a"}'],
    ]);
  });

  it('multipart body with odd content-type case is read and re-sent urlencoded', async () => {
    const body = '--b\r\nContent-Disposition: form-data; name="query"\r\n\r\nsecret\r\n--b--\r\n';
    const req = request('POST', '/api/v1/query', '', body, 'MULTIPART/Form-Data; boundary=b');
    assert.deepEqual(await run(req), [['query', 'secret{namespace="team-a"}']]);
    assert.equal(req.headers['content-type'], FORM);
  });

  it('unknown body media type is 415', async () => {
    const req = request('POST', '/api/v1/query', '', 'query=up', 'Text/Plain');
    await assert.rejects(run(req), (e: unknown) => e instanceof HttpError && e.status === 415);
  });

  it('unparsable query is 400 query_parse_error', async () => {
    const req = request('GET', '/api/v1/query', 'query=up%7B');
    await assert.rejects(run(req), (e: unknown) => e instanceof HttpError && e.status === 400 && e.code === 'query_parse_error');
  });

  it('labels without match[] gets the policy selector', async () => {
    assert.deepEqual(await run(request('GET', '/api/v1/labels', 'start=1')), [
      ['start', '1'],
      ['match[]', '{namespace="team-a"}'],
    ]);
  });

  it('label values without match[] gets the policy selector', async () => {
    assert.deepEqual(await run(request('GET', '/api/v1/label/job/values', '')), [['match[]', '{namespace="team-a"}']]);
  });

  it('several match[] are each enforced', async () => {
    const req = request('GET', '/api/v1/series', 'match[]=up&match[]=%7Bjob%3D%22x%22%7D');
    assert.deepEqual(await run(req), [
      ['match[]', 'up{namespace="team-a"}'],
      ['match[]', '{job="x", namespace="team-a"}'],
    ]);
  });

  it('match[] that is not a selector is 400', async () => {
    await assert.rejects(
      run(request('GET', '/api/v1/series', 'match[]=up+or+secret')),
      (e: unknown) => e instanceof HttpError && e.status === 400,
    );
  });

  it('federate without match[] is 400', async () => {
    await assert.rejects(run(request('GET', '/federate', '')), (e: unknown) => e instanceof HttpError && e.code === 'missing_match');
  });

  it('metadata is full access only (refused to a limited tenant by the pipeline) and passes with full access', async () => {
    assert.equal(endpoint('/api/v1/metadata', 'GET').fullAccessOnly, true);
    await run(request('GET', '/api/v1/metadata', ''), context(FULL_ACCESS));
  });

  it('admin and write endpoints carry their scope', () => {
    assert.equal(endpoint('/api/v1/admin/tsdb/delete_series', 'POST').scope, 'admin');
    assert.equal(endpoint('/-/quit', 'POST').scope, 'admin');
    assert.equal(endpoint('/api/v1/write', 'POST').scope, 'write');
    for (const e of prometheusPreset.endpoints) if (e.bufferBody) assert.equal(e.requiresPolicy, true, e.name);
  });

  it('removes a client X-Prom-Label-Policy and, in native mode, sets ours per tenant', async () => {
    const plain = request('GET', '/api/v1/query', 'query=up');
    plain.headers['x-prom-label-policy'] = 't1:%7B%7D';
    await run(plain);
    assert.equal(plain.headers['x-prom-label-policy'], undefined);
    const native = request('GET', '/api/v1/query', 'query=up');
    await run(native, context(POLICY, true, ['t1', 't2']));
    assert.equal(native.headers['x-prom-label-policy'], 't1:%7Bnamespace%3D%22team-a%22%7D,t2:%7Bnamespace%3D%22team-a%22%7D');
  });

  it('rules response is filtered to the policy', () => {
    const body = Buffer.from(
      JSON.stringify({
        status: 'success',
        data: {
          groups: [
            {
              name: 'g',
              rules: [
                { name: 'a', query: 'up{namespace="team-a"}', labels: { namespace: 'team-a' } },
                { name: 'b', query: 'up{namespace="team-a"}', labels: { namespace: 'x' } },
                { name: 'c', query: 'up', labels: { namespace: 'team-a' } },
              ],
            },
          ],
        },
      }),
    );
    const out = JSON.parse(endpoint('/api/v1/rules').filterResponse?.(body, context(POLICY)).toString() ?? '{}');
    assert.deepEqual(
      out.data.groups[0].rules.map((r: { name: string }) => r.name),
      ['a'],
    );
  });
});

describe('prometheus preset: a policy of several selectors (DNF)', () => {
  const DNF = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const S1 = '{namespace="a", env="prod"}';
  const S2 = '{namespace="shared"}';

  it('series: each match[] becomes one per selector; none sent: the selectors', async () => {
    assert.deepEqual(await run(request('GET', '/api/v1/series', `match[]=${encodeURIComponent('up')}`), context(DNF)), [
      ['match[]', 'up{namespace="a", env="prod"}'],
      ['match[]', 'up{namespace="shared"}'],
    ]);
    assert.deepEqual(await run(request('GET', '/api/v1/labels', ''), context(DNF)), [
      ['match[]', S1],
      ['match[]', S2],
    ]);
  });

  it('a query PromQL cannot limit exactly is refused (403 policy_not_expressible), or sent as written with the header to an upstream that enforces it', async () => {
    const query = `query=${encodeURIComponent('up[5m]')}`;
    await assert.rejects(
      () => run(request('GET', '/api/v1/query', query), context(DNF)),
      (e: unknown) => e instanceof HttpError && e.status === 403 && e.code === 'policy_not_expressible',
    );
    const ctx = context(DNF, true);
    const trusted = { ...ctx, options: { ...ctx.options, nativeLabelPolicyEnforced: true } };
    const req = request('GET', '/api/v1/query', query);
    assert.deepEqual(await run(req, trusted), [['query', 'up[5m]']]);
    assert.equal(req.headers['x-prom-label-policy'], `t1:${encodeURIComponent(S1)},t1:${encodeURIComponent(S2)}`);
  });
});
