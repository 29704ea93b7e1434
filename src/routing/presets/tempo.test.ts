import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentity } from '../../identity/identity.js';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { HttpError } from '../../core/http-errors.js';
import type { EnforceContext, ProxyRequest } from '../endpoint.js';
import { compileEndpointTable } from '../endpoint-table.js';
import { createTempoPreset, tempoPreset } from './tempo.js';

const nsA = buildLabelPolicy({ values: ['a'] }) as LabelPolicy;
const POLICY = '{ resource.namespace = "a" }';
const table = compileEndpointTable(tempoPreset);

function context(policy: LabelPolicy | undefined): EnforceContext {
  return {
    identity: createIdentity({ subject: 's', tenants: ['t1'], policy, authenticator: 'test' }),
    policy,
    tenants: ['t1'],
    options: { policyLabel: 'namespace', injectLabelsOnWrite: false, nativeLabelPolicyHeader: false },
  };
}

/** `policy: 'none'` is an identity without a policy (a default parameter would turn `undefined` into nsA). */
async function send(path: string, query: string, policy: LabelPolicy | 'none' = nsA, preset = table): Promise<URLSearchParams> {
  const endpoint = preset.match('GET', path);
  const req: ProxyRequest = { method: 'GET', path, query, headers: {}, body: undefined };
  await endpoint.transformRequest?.(req, context(policy === 'none' ? undefined : policy));
  return new URLSearchParams(req.query);
}

async function refusal(path: string, query: string): Promise<HttpError> {
  try {
    await send(path, query);
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error;
  }
  assert.fail('request was not refused');
}

describe('tempo preset', () => {
  it('enforces every q of a search', async () => {
    const out = await send('/api/search', `q=${encodeURIComponent('{} || { .a = 1 }')}&q=${encodeURIComponent('{}')}&limit=20`);
    assert.deepEqual(out.getAll('q'), [`${POLICY} || { (.a = 1) && resource.namespace = "a" }`, POLICY]);
    assert.equal(out.get('limit'), '20');
  });

  it('adds the policy as q to a search without one (which would otherwise read every trace)', async () => {
    const out = await send('/api/search', 'start=1&end=2&service.name=x');
    assert.deepEqual(out.getAll('q'), [POLICY]);
    assert.equal(out.get('service.name'), 'x');
  });

  it('treats an empty q as missing', async () => {
    assert.deepEqual((await send('/api/search', 'q=')).getAll('q'), [POLICY]);
  });

  it('refuses the legacy tags parameter for identities with a policy', async () => {
    const error = await refusal('/api/search', 'tags=service.name%3Dx');
    assert.equal(error.status, 400);
    assert.equal(error.code, 'tags_not_supported');
  });

  it('answers an unparsable query with 400 query_parse_error', async () => {
    const error = await refusal('/api/search', `q=${encodeURIComponent('{ .a = ')}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'query_parse_error');
  });

  it('enforces both q and query on TraceQL metrics', async () => {
    const query = `query=${encodeURIComponent('{} | rate()')}&q=${encodeURIComponent('{ .x = 1 } | rate()')}&step=60`;
    const out = await send('/api/metrics/query_range', query);
    assert.equal(out.get('query'), `${POLICY} | rate()`);
    assert.equal(out.get('q'), '{ (.x = 1) && resource.namespace = "a" } | rate()');
    assert.equal(out.get('step'), '60');
  });

  it('refuses a metrics request without a query', async () => {
    assert.equal((await refusal('/api/metrics/query', 'start=1')).code, 'query_missing');
  });

  it('replaces q on v2 tag values with the bare policy filter, so Tempo cannot drop it', async () => {
    const out = await send('/api/v2/search/tag/resource.service.name/values', `q=${encodeURIComponent('{ .a = 1 || .b = 2 }')}`);
    assert.deepEqual(out.getAll('q'), [POLICY]);
    assert.deepEqual((await send('/api/v2/search/tags', 'scope=resource')).getAll('q'), [POLICY]);
  });

  it('marks v1 tag endpoints, which may ignore q, full access only (the pipeline refuses limited identities)', async () => {
    assert.equal(table.match('GET', '/api/search/tag/service.name/values').fullAccessOnly, true);
    assert.equal(table.match('GET', '/api/search/tags').fullAccessOnly, true);
    assert.equal(table.match('GET', '/api/v2/search/tags').fullAccessOnly, undefined);
    assert.equal((await send('/api/search/tags', '', FULL_ACCESS)).toString(), '');
  });

  it('leaves queries alone for full access and for identities without a policy (tenant header only)', async () => {
    const q = `q=${encodeURIComponent('{ .a = 1 }')}`;
    assert.equal((await send('/api/search', q, FULL_ACCESS)).get('q'), '{ .a = 1 }');
    assert.equal((await send('/api/search', q, 'none')).get('q'), '{ .a = 1 }');
  });

  it('maps the policy label to a configured resource attribute', async () => {
    const preset = compileEndpointTable(createTempoPreset({ attributes: { namespace: 'k8s.namespace.name' } }));
    const out = await send('/api/search', '', nsA, preset);
    assert.equal(out.get('q'), '{ resource.k8s.namespace.name = "a" }');
  });

  it('routes reads to the query-frontend and OTLP ingest to the distributor with the write scope', () => {
    assert.equal(table.match('GET', '/api/v2/traces/0123abcd').component, 'query-frontend');
    const ingest = table.match('POST', '/v1/traces');
    assert.equal(ingest.component, 'distributor');
    assert.equal(ingest.scope, 'write');
    assert.ok(tempoPreset.endpoints.every((e) => !e.requiresPolicy));
  });

  it('does not route unknown paths (admin endpoints stay unreachable)', () => {
    assert.throws(
      () => table.match('GET', '/flush'),
      (e: unknown) => e instanceof HttpError && e.status === 404,
    );
    assert.throws(
      () => table.match('GET', '/api/traces/not-hex'),
      (e: unknown) => e instanceof HttpError && e.status === 404,
    );
  });
});

describe('tempo preset: a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  it('search gets the disjunction; tag autocomplete (which Tempo answers unfiltered for ||) is refused', async () => {
    const q = (await send('/api/search', 'q=%7B%7D', dnf)).get('q');
    assert.equal(q, '{ ((resource.namespace = "a" && resource.env = "prod") || (resource.namespace = "shared")) }');
    try {
      await send('/api/v2/search/tags', 'scope=resource', dnf);
      assert.fail('tag autocomplete was not refused');
    } catch (error) {
      assert.ok(error instanceof HttpError);
      assert.equal(error.code, 'policy_not_expressible');
    }
  });
});
