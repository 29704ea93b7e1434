import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentity } from '../../identity/identity.js';
import { FULL_ACCESS, buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { HttpError } from '../../core/http-errors.js';
import { decodeProtoPush, encodeProtoPush } from '../../enforce/write/loki-push-proto.js';
import { compileEndpointTable } from '../endpoint-table.js';
import type { EnforceContext, ProxyRequest, UpstreamPolicyOptions } from '../endpoint.js';
import { lokiPreset } from './loki.js';

const TEAM_A = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const OPTIONS: UpstreamPolicyOptions = { policyLabel: 'namespace', injectLabelsOnWrite: false, nativeLabelPolicyHeader: false };
const table = compileEndpointTable(lokiPreset);

function context(policy: LabelPolicy | undefined, options: Partial<UpstreamPolicyOptions> = {}): EnforceContext {
  const identity = createIdentity({ subject: 'u', tenants: ['t1'], policy, authenticator: 'test' });
  return { identity, policy, tenants: ['t1'], options: { ...OPTIONS, ...options } };
}

function request(method: string, path: string, query: string, body?: string, contentType?: string): ProxyRequest {
  const headers: Record<string, string> = { 'x-prom-label-policy': 'forged' };
  if (contentType) headers['content-type'] = contentType;
  return { method, path, query, headers, body: body === undefined ? undefined : Buffer.from(body) };
}

async function transform(req: ProxyRequest, ctx: EnforceContext): Promise<ProxyRequest> {
  await table.match(req.method, req.path).transformRequest?.(req, ctx);
  return req;
}

async function rejection(req: ProxyRequest, ctx: EnforceContext): Promise<HttpError> {
  try {
    await transform(req, ctx);
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error;
  }
  assert.fail('expected the request to be refused');
}

const ENFORCED = '{app="x", namespace="team-a"}';

describe('loki preset: query parameters', () => {
  it('enforces the query of a GET and keeps other parameters', async () => {
    const req = await transform(
      request('GET', '/loki/api/v1/query_range', `query=${encodeURIComponent('{app="x"}')}&limit=5`),
      context(TEAM_A),
    );
    assert.deepEqual(
      [...new URLSearchParams(req.query)],
      [
        ['query', ENFORCED],
        ['limit', '5'],
      ],
    );
  });

  it('enforces every occurrence in the URL and in a POST form body, sent as one canonical form body', async () => {
    const q = encodeURIComponent('{namespace="team-z"}');
    const req = request(
      'POST',
      '/loki/api/v1/query',
      `query=${q}&query=${q}`,
      `query=${q}&x=1&query=${encodeURIComponent('{app="x"}')}`,
      'application/x-www-form-urlencoded',
    );
    await transform(req, context(TEAM_A));
    assert.equal(req.query, '', 'the URL carries nothing the upstream could read instead');
    const body = new URLSearchParams(req.body?.toString());
    // Go's ParseForm order: form body first, then the URL.
    assert.deepEqual(body.getAll('query'), ['{namespace="team-a"}', ENFORCED, '{namespace="team-a"}', '{namespace="team-a"}']);
    assert.equal(body.get('x'), '1');
  });

  it('refuses a POST body that is not a form (415)', async () => {
    const err = await rejection(request('POST', '/loki/api/v1/query', '', '{"query":"{a=\\"b\\"}"}', 'application/json'), context(TEAM_A));
    assert.equal(err.status, 415);
  });

  it('answers a syntax error with 400 query_parse_error', async () => {
    const err = await rejection(request('GET', '/loki/api/v1/query', 'query=%7Bapp%3D'), context(TEAM_A));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'query_parse_error');
  });

  it('labels without a query get the policy selector; an empty one is replaced', async () => {
    const missing = await transform(request('GET', '/loki/api/v1/labels', 'start=1'), context(TEAM_A));
    assert.equal(new URLSearchParams(missing.query).get('query'), '{namespace="team-a"}');
    const empty = await transform(request('GET', '/loki/api/v1/label/app/values', 'query='), context(TEAM_A));
    assert.deepEqual(new URLSearchParams(empty.query).getAll('query'), ['{namespace="team-a"}']);
    const braces = await transform(request('GET', '/loki/api/v1/detected_labels', 'query=%7B+%7D'), context(TEAM_A));
    assert.deepEqual(new URLSearchParams(braces.query).getAll('query'), ['{namespace="team-a"}']);
  });

  it('series: every match[] is enforced, and one is added when none is given', async () => {
    const both = await transform(
      request('GET', '/loki/api/v1/series', `match[]=${encodeURIComponent('{app="x"}')}&match=${encodeURIComponent('{a="1"}')}`),
      context(TEAM_A),
    );
    const params = new URLSearchParams(both.query);
    assert.deepEqual([params.get('match[]'), params.get('match')], [ENFORCED, '{a="1", namespace="team-a"}']);
    const none = await transform(request('GET', '/loki/api/v1/series', ''), context(TEAM_A));
    assert.equal(new URLSearchParams(none.query).get('match[]'), '{namespace="team-a"}');
  });

  it('series refuses a metric query as match[]', async () => {
    const err = await rejection(
      request('GET', '/loki/api/v1/series', `match[]=${encodeURIComponent('rate({a="1"}[1m])')}`),
      context(TEAM_A),
    );
    assert.equal(err.code, 'query_parse_error');
  });

  it('tail is a websocket on the querier whose query is enforced', async () => {
    const endpoint = table.match('GET', '/loki/api/v1/tail');
    assert.equal(endpoint.websocket, true);
    assert.equal(endpoint.component, 'querier');
    const req = await transform(request('GET', '/loki/api/v1/tail', `query=${encodeURIComponent('{app="x"}')}`), context(TEAM_A));
    assert.equal(new URLSearchParams(req.query).get('query'), ENFORCED);
  });

  it('sets X-Prom-Label-Policy only when configured, always dropping the client one', async () => {
    const off = await transform(request('GET', '/loki/api/v1/query', 'query=%7Ba%3D%221%22%7D'), context(TEAM_A));
    assert.equal(off.headers['x-prom-label-policy'], undefined);
    const on = await transform(
      request('GET', '/loki/api/v1/query', 'query=%7Ba%3D%221%22%7D'),
      context(TEAM_A, { nativeLabelPolicyHeader: true }),
    );
    assert.equal(on.headers['x-prom-label-policy'], `t1:${encodeURIComponent('{namespace="team-a"}')}`);
  });

  it('without a policy, reads are tenant-wide: the query is left as sent', async () => {
    const req = await transform(request('GET', '/loki/api/v1/query', 'query=%7Bnamespace%3D%22any%22%7D'), context(undefined));
    assert.equal(req.query, 'query=%7Bnamespace%3D%22any%22%7D');
    assert.equal(req.headers['x-prom-label-policy'], undefined);
  });

  it('full access leaves a valid query alone but still refuses an invalid one', async () => {
    const ok = await transform(
      request('GET', '/loki/api/v1/query', `query=${encodeURIComponent('{namespace=~".+"}')}`),
      context(FULL_ACCESS),
    );
    assert.equal(new URLSearchParams(ok.query).get('query'), '{namespace=~".+"}');
    const err = await rejection(request('GET', '/loki/api/v1/query', 'query=%7B'), context(FULL_ACCESS));
    assert.equal(err.status, 400);
  });
});

describe('loki preset: a policy of several selectors (DNF)', () => {
  const DNF = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const S1 = '{namespace="a", env="prod"}';
  const S2 = '{namespace="shared"}';

  it('series: one match[] per selector (Loki ORs them), also when none was sent', async () => {
    const sent = await transform(request('GET', '/loki/api/v1/series', `match[]=${encodeURIComponent('{app="x"}')}`), context(DNF));
    assert.deepEqual(
      [...new URLSearchParams(sent.query)],
      [
        ['match[]', '{app="x", namespace="a", env="prod"}'],
        ['match[]', '{app="x", namespace="shared"}'],
      ],
    );
    const none = await transform(request('GET', '/loki/api/v1/series', ''), context(DNF));
    assert.deepEqual(
      [...new URLSearchParams(none.query)],
      [
        ['match[]', S1],
        ['match[]', S2],
      ],
    );
  });

  it('a log query is refused with policy_not_expressible; a metric query is the union', async () => {
    const refused = await rejection(request('GET', '/loki/api/v1/query_range', `query=${encodeURIComponent('{app="x"}')}`), context(DNF));
    assert.equal(refused.status, 403);
    assert.equal(refused.code, 'policy_not_expressible');
    const labels = await rejection(request('GET', '/loki/api/v1/labels', ''), context(DNF));
    assert.equal(labels.code, 'policy_not_expressible');
    const metric = await transform(
      request('GET', '/loki/api/v1/query', `query=${encodeURIComponent('count_over_time({app="x"}[1m])')}`),
      context(DNF),
    );
    assert.equal(
      new URLSearchParams(metric.query).get('query'),
      '(count_over_time({app="x", namespace="a", env="prod"}[1m]) or count_over_time({app="x", namespace="shared"}[1m]))',
    );
  });

  it('the native label-policy header carries every selector for every tenant (ORed by Loki)', async () => {
    const req = await transform(request('GET', '/loki/api/v1/series', ''), context(DNF, { nativeLabelPolicyHeader: true }));
    assert.equal(req.headers['x-prom-label-policy'], `t1:${encodeURIComponent(S1)},t1:${encodeURIComponent(S2)}`);
  });
});

describe('loki preset: a Loki that enforces X-Prom-Label-Policy itself (native_label_policy_enforced)', () => {
  const DNF = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const trusted = { nativeLabelPolicyHeader: true, nativeLabelPolicyEnforced: true };
  const header = `t1:${encodeURIComponent('{namespace="a", env="prod"}')},t1:${encodeURIComponent('{namespace="shared"}')}`;

  it('a log query the rewrite cannot express goes as written, limited by the header; the client header never passes', async () => {
    const req = await transform(
      request('GET', '/loki/api/v1/query_range', `query=${encodeURIComponent('{app="x"}')}`),
      context(DNF, trusted),
    );
    assert.equal(new URLSearchParams(req.query).get('query'), '{app="x"}');
    assert.equal(req.headers['x-prom-label-policy'], header);
  });

  it('what the rewrite can express is still rewritten (and the header sent)', async () => {
    const req = await transform(
      request('GET', '/loki/api/v1/query', `query=${encodeURIComponent('count_over_time({app="x"}[1m])')}`),
      context(DNF, trusted),
    );
    assert.match(new URLSearchParams(req.query).get('query') ?? '', /^\(count_over_time\(\{app="x", namespace="a", env="prod"\}/);
    assert.equal(req.headers['x-prom-label-policy'], header);
  });

  it('without the header, or not said to be enforced, the same query is refused', async () => {
    for (const options of [{ nativeLabelPolicyHeader: true }, { nativeLabelPolicyEnforced: true }]) {
      const refused = await rejection(
        request('GET', '/loki/api/v1/query_range', `query=${encodeURIComponent('{app="x"}')}`),
        context(DNF, options),
      );
      assert.equal(refused.code, 'policy_not_expressible');
    }
  });
});

describe('loki preset: push', () => {
  const json = (labels: Record<string, string>) => JSON.stringify({ streams: [{ stream: labels, values: [['1', 'l']] }] });
  const proto = (labels: string) => encodeProtoPush({ streams: [{ labels, entries: [{ line: Buffer.from('l') }] }], format: '' });
  const push = (body: string | Buffer, contentType: string): ProxyRequest => ({
    method: 'POST',
    path: '/loki/api/v1/push',
    query: '',
    headers: { 'content-type': contentType },
    body: Buffer.from(body),
  });

  it('forwards a JSON push inside the policy', async () => {
    const req = await transform(push(json({ namespace: 'team-a' }), 'application/json'), context(TEAM_A));
    assert.equal(JSON.parse(req.body?.toString() ?? '').streams[0].stream.namespace, 'team-a');
  });

  it('refuses a JSON push to another namespace with 403 policy_violation', async () => {
    const err = await rejection(push(json({ namespace: 'team-b' }), 'application/json'), context(TEAM_A));
    assert.deepEqual([err.status, err.code], [403, 'policy_violation']);
  });

  it('injects into a protobuf push when configured, re-encoding the body', async () => {
    const req = await transform(push(proto('{app="x"}'), 'application/x-protobuf'), context(TEAM_A, { injectLabelsOnWrite: true }));
    assert.equal(decodeProtoPush(req.body ?? Buffer.alloc(0), 1 << 20).streams[0]?.labels, ENFORCED);
  });

  it('refuses a protobuf push lacking the label in reject mode', async () => {
    const err = await rejection(push(proto('{app="x"}'), 'application/x-protobuf'), context(TEAM_A));
    assert.equal(err.status, 403);
  });

  it('refuses an unknown content encoding with 415', async () => {
    const req = push(json({ namespace: 'team-a' }), 'application/json');
    req.headers['content-encoding'] = 'br';
    assert.equal((await rejection(req, context(TEAM_A))).status, 415);
  });
});

describe('loki preset: table', () => {
  it('admin endpoints need the admin scope', () => {
    for (const [method, path] of [
      ['POST', '/loki/api/v1/delete'],
      ['POST', '/flush'],
      ['POST', '/ingester/shutdown'],
      ['GET', '/config'],
    ]) {
      assert.equal(table.match(method as string, path as string).scope, 'admin', path);
    }
  });

  it('unknown and legacy paths are 404', () => {
    for (const path of ['/api/prom/push', '/otlp/v1/logs', '/loki/api/v1/nope']) {
      assert.throws(
        () => table.match('POST', path),
        (e: unknown) => e instanceof HttpError && e.status === 404,
        path,
      );
    }
  });

  it('rule changes are full access only (the pipeline refuses a restricted identity); one without a policy can', async () => {
    assert.equal(table.match('POST', '/loki/api/v1/rules/ns').fullAccessOnly, true);
    assert.equal(table.match('DELETE', '/loki/api/v1/rules/ns/group').fullAccessOnly, true);
    await assert.doesNotReject(
      transform(request('POST', '/loki/api/v1/rules/ns', '', 'groups: []', 'application/yaml'), context(undefined)),
    );
  });
});
