import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentity } from '../../identity/identity.js';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { HttpError } from '../../core/http-errors.js';
import type { EnforceContext, ProxyRequest, UpstreamLookup } from '../endpoint.js';
import { compileEndpointTable } from '../endpoint-table.js';
import { alertmanagerPreset } from './alertmanager.js';

const nsA = buildLabelPolicy({ values: ['a'] }) as LabelPolicy;
const nsAB = buildLabelPolicy({ values: ['a', 'b'] }) as LabelPolicy;
const table = compileEndpointTable(alertmanagerPreset);

function context(policy: LabelPolicy, inject = false): EnforceContext {
  return {
    identity: createIdentity({ subject: 's', tenants: ['t1'], policy, authenticator: 'test' }),
    policy,
    tenants: ['t1'],
    options: { policyLabel: 'namespace', injectLabelsOnWrite: inject, nativeLabelPolicyHeader: false },
  };
}

function request(method: string, path: string, body?: unknown, query = ''): ProxyRequest {
  return {
    method,
    path,
    query,
    headers: { 'accept-encoding': 'gzip', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
  };
}

/** The upstream's silences by id, as the lookup of `authorizeWithUpstream` sees them. */
function lookupOf(silences: Record<string, unknown>): UpstreamLookup {
  return async (path) => {
    const found = silences[path.slice(path.lastIndexOf('/') + 1)];
    return found === undefined ? { status: 404, body: Buffer.from('{}') } : { status: 200, body: Buffer.from(JSON.stringify(found)) };
  };
}

const noLookup: UpstreamLookup = async () => assert.fail('no upstream lookup expected');

async function transform(req: ProxyRequest, ctx: EnforceContext, lookup = noLookup): Promise<ProxyRequest> {
  const endpoint = table.match(req.method, req.path);
  await endpoint.transformRequest?.(req, ctx);
  await endpoint.authorizeWithUpstream?.(req, ctx, lookup);
  return req;
}

async function refusal(req: ProxyRequest, ctx: EnforceContext, lookup = noLookup): Promise<HttpError> {
  try {
    await transform(req, ctx, lookup);
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error;
  }
  assert.fail('request was not refused');
}

function filter(path: string, body: unknown, ctx: EnforceContext): unknown {
  const endpoint = table.match('GET', path);
  assert.ok(endpoint.filterResponse);
  return JSON.parse(endpoint.filterResponse(Buffer.from(JSON.stringify(body)), ctx).toString('utf8'));
}

const alert = (ns: string | undefined, name = 'X') => ({ labels: { alertname: name, ...(ns ? { namespace: ns } : {}) } });
const silence = (matchers: unknown[], id = 's1') => ({ id, matchers, status: { state: 'active' } });
const eq = (value: string) => ({ name: 'namespace', value, isRegex: false, isEqual: true });

describe('alertmanager preset', () => {
  it('adds the policy as filter matchers to reads and asks for an uncompressed body', async () => {
    const req = await transform(request('GET', '/api/v2/alerts', undefined, 'active=true'), context(nsAB));
    assert.deepEqual(new URLSearchParams(req.query).getAll('filter'), ['namespace=~"a|b"']);
    assert.equal(new URLSearchParams(req.query).get('active'), 'true');
    assert.equal(req.headers['accept-encoding'], undefined);
    const silences = await transform(request('GET', '/api/v2/silences'), context(nsA));
    assert.deepEqual(new URLSearchParams(silences.query).getAll('filter'), ['namespace="a"']);
  });

  it('filters alerts and alert groups in the response to the policy', () => {
    const alerts = filter('/api/v2/alerts', [alert('a', 'mine'), alert('b'), alert(undefined)], context(nsA));
    assert.deepEqual(alerts, [alert('a', 'mine')]);
    const groups = filter(
      '/api/v2/alerts/groups',
      [
        { labels: {}, receiver: { name: 'r' }, alerts: [alert('a'), alert('b')] },
        { labels: {}, receiver: { name: 'r' }, alerts: [alert('c')] },
      ],
      context(nsA),
    );
    assert.deepEqual(groups, [{ labels: {}, receiver: { name: 'r' }, alerts: [alert('a')] }]);
  });

  it('keeps only silences confined to the policy', () => {
    const within = silence([eq('a')], 'ok');
    const regexWithin = silence([{ name: 'namespace', value: 'a|b', isRegex: true }], 'ok2');
    const body = [
      within,
      regexWithin,
      silence([eq('c')]),
      silence([{ name: 'namespace', value: 'a|c', isRegex: true }]),
      silence([{ name: 'namespace', value: 'a', isRegex: false, isEqual: false }]),
      silence([{ name: 'namespace', value: 'a.*', isRegex: true }]),
      silence([{ name: 'alertname', value: 'X', isRegex: false }]),
    ];
    assert.deepEqual(filter('/api/v2/silences', body, context(nsAB)), [within, regexWithin]);
  });

  it('answers a single silence outside the policy with 404', () => {
    const endpoint = table.match('GET', '/api/v2/silence/0a1b2c3d-0000-4000-8000-000000000000');
    const other = Buffer.from(JSON.stringify(silence([eq('b')])));
    assert.throws(
      () => endpoint.filterResponse?.(other, context(nsA)),
      (e: unknown) => e instanceof HttpError && e.status === 404,
    );
    const mine = Buffer.from(JSON.stringify(silence([eq('a')])));
    assert.equal(endpoint.filterResponse?.(mine, context(nsA)), mine);
  });

  it('passes responses through untouched for full access', () => {
    const endpoint = table.match('GET', '/api/v2/alerts');
    const body = Buffer.from(JSON.stringify([alert('z')]));
    assert.equal(endpoint.filterResponse?.(body, context(FULL_ACCESS)), body);
  });

  it('accepts a new silence confined to the policy and refuses wider ones', async () => {
    await transform(request('POST', '/api/v2/silences', { matchers: [eq('a')], startsAt: 's', endsAt: 'e' }), context(nsA));
    const wide = await refusal(
      request('POST', '/api/v2/silences', { matchers: [{ name: 'alertname', value: 'X', isRegex: false }] }),
      context(nsA),
    );
    assert.equal(wide.code, 'policy_violation');
    const regex = await refusal(
      request('POST', '/api/v2/silences', { matchers: [{ name: 'namespace', value: '.+', isRegex: true }] }),
      context(nsA),
    );
    assert.equal(regex.status, 403);
  });

  it('updates a silence by id only when the existing one is within the policy too', async () => {
    const upstream = lookupOf({ a0: silence([eq('a')], 'a0'), b0: silence([eq('b')], 'b0') });
    await transform(request('POST', '/api/v2/silences', { id: 'a0', matchers: [eq('a')] }), context(nsA), upstream);
    // Another tenant's silence (or one that does not exist) is answered alike: it cannot be expired or rewritten.
    const theirs = await refusal(request('POST', '/api/v2/silences', { id: 'b0', matchers: [eq('a')] }), context(nsA), upstream);
    assert.equal(theirs.code, 'silence_not_found');
    const missing = await refusal(request('POST', '/api/v2/silences', { id: 'c0', matchers: [eq('a')] }), context(nsA), upstream);
    assert.equal(missing.code, 'silence_not_found');
  });

  it('refuses a body whose keys differ only in case (Go would read the other one)', async () => {
    const body = { matchers: [eq('a')], Matchers: [{ name: 'alertname', value: 'X', isRegex: false }] };
    assert.equal((await refusal(request('POST', '/api/v2/silences', body), context(nsA))).code, 'ambiguous_json');
  });

  it('reads a silence id in any spelling Go reads as `id`, and looks the silence up', async () => {
    const upstream = lookupOf({ a0: silence([eq('a')], 'a0'), b0: silence([eq('b')], 'b0') });
    for (const key of ['ID', 'Id', 'iD']) {
      const theirs = await refusal(request('POST', '/api/v2/silences', { [key]: 'b0', matchers: [eq('a')] }), context(nsA), upstream);
      assert.equal(theirs.code, 'silence_not_found', key);
    }
    const own = await transform(request('POST', '/api/v2/silences', { Id: 'a0', Matchers: [eq('a')], extra: 1 }), context(nsA), upstream);
    assert.deepEqual(JSON.parse(own.body?.toString('utf8') ?? ''), { id: 'a0', matchers: [eq('a')] });
  });

  it('reads matcher fields the Go way: a capital IsEqual cannot turn an allowed matcher into its negation', async () => {
    const negated = { name: 'namespace', value: 'a', isRegex: false, IsEqual: false };
    assert.equal((await refusal(request('POST', '/api/v2/silences', { matchers: [negated] }), context(nsA))).code, 'policy_violation');
    const regex = { NAME: 'namespace', VALUE: '.+', ISREGEX: true };
    assert.equal((await refusal(request('POST', '/api/v2/silences', { matchers: [regex] }), context(nsA))).code, 'policy_violation');
  });

  const ambiguous: { name: string; body: unknown; path?: string }[] = [
    { name: 'id and ID', body: { id: '', ID: 'b0', matchers: [eq('a')] } },
    { name: 'id and iD', body: { id: 'a0', iD: 'b0', matchers: [eq('a')] } },
    { name: 'matchers and Matchers', body: { matchers: [eq('a')], Matchers: [eq('b')] } },
    { name: 'matchers and matcher\u017f (long s)', body: { matchers: [eq('a')], 'matcher\u017f': [eq('b')] } },
    { name: 'isEqual and i\u017fEqual (long s)', body: { matchers: [{ ...eq('a'), 'i\u017fEqual': false }] } },
    { name: 'matcher isRegex and IsRegex', body: { matchers: [{ ...eq('a'), IsRegex: true }] } },
    { name: 'matcher name and NAME', body: { matchers: [{ ...eq('a'), NAME: 'alertname' }] } },
    { name: 'alert labels and Labels', body: [{ labels: { namespace: 'a' }, Labels: { namespace: 'b' } }], path: '/api/v2/alerts' },
    {
      name: 'alert startsAt and the long s',
      body: [{ labels: { namespace: 'a' }, startsAt: 'x', '\u017ftartsAt': 'y' }],
      path: '/api/v2/alerts',
    },
  ];
  for (const { name, body, path } of ambiguous) {
    it(`refuses a field given twice (${name}) with ambiguous_json`, async () => {
      assert.equal((await refusal(request('POST', path ?? '/api/v2/silences', body), context(nsA))).code, 'ambiguous_json');
    });
  }

  it('checks posted alerts, injecting a single literal when configured', async () => {
    assert.equal((await refusal(request('POST', '/api/v2/alerts', [alert('a'), alert('b')]), context(nsA))).code, 'policy_violation');
    assert.equal((await refusal(request('POST', '/api/v2/alerts', [alert(undefined)]), context(nsA))).status, 403);
    const req = await transform(request('POST', '/api/v2/alerts', [alert(undefined, 'Y')]), context(nsA, true));
    assert.deepEqual(JSON.parse(req.body?.toString('utf8') ?? ''), [alert('a', 'Y')]);
  });

  it('deletes only silences within the policy; status and receivers are full access only', async () => {
    const own = '0a1b2c3d-0000-4000-8000-000000000000';
    const theirs = '0a1b2c3d-0000-4000-8000-00000000000b';
    const upstream = lookupOf({ [own]: silence([eq('a')], own), [theirs]: silence([eq('b')], theirs) });
    await transform(request('DELETE', `/api/v2/silence/${own}`), context(nsA), upstream);
    assert.equal((await refusal(request('DELETE', `/api/v2/silence/${theirs}`), context(nsA), upstream)).code, 'silence_not_found');
    await transform(request('DELETE', `/api/v2/silence/${theirs}`), context(FULL_ACCESS));
    assert.equal(table.match('GET', '/api/v2/status').fullAccessOnly, true);
    assert.equal(table.match('GET', '/api/v2/receivers').fullAccessOnly, true);
    await transform(request('GET', '/api/v2/status'), context(FULL_ACCESS));
  });

  it('requires a policy on every row and the write scope on every change', () => {
    assert.ok(alertmanagerPreset.endpoints.every((e) => e.requiresPolicy === true));
    for (const e of alertmanagerPreset.endpoints) assert.equal(e.scope, e.methods.includes('GET') ? 'read' : 'write');
  });
});

describe('alertmanager preset: a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const labelled = (labels: Record<string, string>) => ({ labels: { alertname: 'X', ...labels } });
  const env = (value: string) => ({ name: 'env', value, isRegex: false, isEqual: true });

  it('reads get no filter (Alertmanager ANDs filters) and the response filter keeps what one selector allows', async () => {
    const req = await transform(request('GET', '/api/v2/alerts', undefined, 'active=true'), context(dnf));
    assert.deepEqual(new URLSearchParams(req.query).getAll('filter'), []);
    const kept = filter(
      '/api/v2/alerts',
      [labelled({ namespace: 'a', env: 'prod' }), labelled({ namespace: 'a', env: 'dev' }), labelled({ namespace: 'shared' })],
      context(dnf),
    );
    assert.deepEqual(kept, [labelled({ namespace: 'a', env: 'prod' }), labelled({ namespace: 'shared' })]);
  });

  it('a silence must be confined by one selector: a selector cannot widen another', async () => {
    await transform(request('POST', '/api/v2/silences', { matchers: [eq('a'), env('prod')], startsAt: 's', endsAt: 'e' }), context(dnf));
    await transform(request('POST', '/api/v2/silences', { matchers: [eq('shared')], startsAt: 's', endsAt: 'e' }), context(dnf));
    for (const matchers of [[eq('a')], [env('prod')], [eq('a'), env('dev')], [{ name: 'namespace', value: 'a|shared', isRegex: true }]]) {
      const refused = await refusal(request('POST', '/api/v2/silences', { matchers, startsAt: 's', endsAt: 'e' }), context(dnf));
      assert.equal(refused.code, 'policy_violation', JSON.stringify(matchers));
    }
  });

  it('posted alerts must satisfy one selector; nothing is injected', async () => {
    await transform(request('POST', '/api/v2/alerts', [labelled({ namespace: 'shared' })]), context(dnf, true));
    assert.equal(
      (await refusal(request('POST', '/api/v2/alerts', [labelled({ namespace: 'a' })]), context(dnf, true))).code,
      'policy_violation',
    );
  });
});
