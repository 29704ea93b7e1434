import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentity } from '../identity/identity.js';
import { buildLabelPolicy } from '../policy/label-policy.js';
import { buildDecisionRecord, cachedQueryPart, describeIdentity, queryPart } from './record-decision.js';
import type { RequestContext } from './request-context.js';

const identity = createIdentity({
  subject: 'team-a',
  tenants: ['team-a'],
  policy: buildLabelPolicy({ values: ['team-a'] }),
  authenticator: 'static-token',
});

function ctx(
  receivedQuery: string,
  outgoingQuery: string,
  bodies?: { received: string; sent: string },
  queryParams: readonly string[] = ['query', 'match[]'],
): RequestContext {
  return {
    queryParams,
    id: 'r',
    startMs: performance.now(),
    log: undefined as never,
    signal: undefined as never,
    trace: { traceId: 't' } as RequestContext['trace'],
    identity,
    tenant: 'team-a',
    endpoint: 'prometheus.query',
    receivedQuery,
    receivedBody: bodies === undefined ? undefined : Buffer.from(bodies.received),
    outgoing: {
      method: bodies === undefined ? 'GET' : 'POST',
      path: '/api/v1/query',
      query: outgoingQuery,
      headers: bodies === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
      body: bodies === undefined ? undefined : Buffer.from(bodies.sent),
    },
  };
}

const QUERIES: { name: string; ctx: RequestContext; before: string; after?: string }[] = [
  {
    name: 'a URL query, decoded',
    ctx: ctx(
      'query=sum(rate(x%5B5m%5D))+by+(job)&time=1',
      'query=sum%28rate%28x%7Bnamespace%3D%22team-a%22%7D%5B5m%5D%29%29+by+%28job%29&time=1',
    ),
    before: 'query=sum(rate(x[5m])) by (job)',
    after: 'query=sum(rate(x{namespace="team-a"}[5m])) by (job)',
  },
  {
    name: 'every match[] and the form body first, as Go reads them',
    ctx: ctx('match[]=b', 'match%5B%5D=b%7Bnamespace%3D%22team-a%22%7D', {
      received: 'match[]=a',
      sent: 'match%5B%5D=a%7Bnamespace%3D%22team-a%22%7D',
    }),
    before: 'match[]=a\nmatch[]=b',
    after: 'match[]=a{namespace="team-a"}\nmatch[]=b{namespace="team-a"}',
  },
  {
    name: 'an escaped key is read as the upstream decodes it',
    ctx: ctx('%71uery=up', 'query=up%7Bnamespace%3D%22team-a%22%7D'),
    before: 'query=up',
    after: 'query=up{namespace="team-a"}',
  },
  {
    name: "the row's own parameter names, and only those",
    ctx: ctx('expr=up&query=x&from=1', 'expr=up%7Bnamespace%3D%22team-a%22%7D&query=x&from=1', undefined, ['expr']),
    before: 'expr=up',
    after: 'expr=up{namespace="team-a"}',
  },
  { name: 'a malformed escape is kept as written', ctx: ctx('query=up%ZZ', 'query=x'), before: 'query=up%ZZ', after: 'query=x' },
  {
    name: 'Tempo search (the row reads q)',
    ctx: ctx('q=%7B%7D&limit=20', 'q=%7B.namespace%3D%22team-a%22%7D&limit=20', undefined, ['q']),
    before: 'q={}',
    after: 'q={.namespace="team-a"}',
  },
];

for (const { name, ctx: context, before, after } of QUERIES) {
  test(`query text: ${name}`, () => {
    const record = buildDecisionRecord(context, 'GET', 200, undefined, { queries: 'text', now: () => 0 });
    assert.deepEqual(record.query, { before, after });
  });
}

test('no query parameter, no query field; other parameters are never recorded', () => {
  const record = buildDecisionRecord(ctx('start=1&end=2&step=15', 'start=1&end=2&step=15'), 'GET', 200, undefined, {
    queries: 'text',
    now: () => 0,
  });
  assert.equal(record.query, undefined);
});

test('a row without query parameters records no query, whatever the query string holds', () => {
  const record = buildDecisionRecord(ctx('query=up', 'query=up', undefined, []), 'GET', 200, undefined, { queries: 'text', now: () => 0 });
  assert.equal(record.query, undefined);
  const noRow = { ...ctx('query=up', 'query=up'), queryParams: undefined };
  assert.equal(buildDecisionRecord(noRow, 'GET', 200, undefined, { queries: 'text', now: () => 0 }).query, undefined);
});

test('queries = "sha256": the digests of the same texts', () => {
  const record = buildDecisionRecord(ctx('query=up', 'query=up%7Bnamespace%3D%22team-a%22%7D'), 'GET', 200, undefined, {
    queries: 'sha256',
    now: () => 0,
  });
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  assert.deepEqual(record.query, { beforeSha256: sha256('query=up'), afterSha256: sha256('query=up{namespace="team-a"}') });
});

test('the decision: sent is allowed whatever the upstream answered; a refusal half-way through enforcement has no "after"', () => {
  const upstreamFailed = buildDecisionRecord(ctx('query=up', 'query=x'), 'GET', 500, undefined, { queries: 'text', now: () => 0 });
  assert.equal(upstreamFailed.decision, 'allow');
  assert.equal(upstreamFailed.upstreamStatus, 500);
  const refused = { ...ctx('query=up', 'query=up'), errorCode: 'query_parse_error' as const };
  const record = buildDecisionRecord(refused, 'GET', 400, undefined, { queries: 'text', now: () => 0 });
  assert.equal(record.decision, 'deny');
  assert.deepEqual(record.query, { before: 'query=up' });
  assert.equal(record.upstreamStatus, undefined);
  const gone = { ...ctx('query=up', 'query=up'), outgoing: undefined };
  assert.equal(buildDecisionRecord(gone, 'GET', 499, undefined, { queries: 'text', now: () => 0 }).decision, 'error');
});

test('query text remembered per row and query string gives what decoding gives: text or digest, none, a form body, long queries, a full map', () => {
  for (const mode of ['text', 'sha256'] as const) {
    const part = queryPart(mode);
    const cached = cachedQueryPart(part, 4);
    const rows = [['query'], ['match[]', 'start']] as const;
    const queries = [
      'query=up',
      'query=sum+by+%28code%29+%28rate%28x%7Bjob%3D%22api%22%7D%5B5m%5D%29%29',
      'match%5B%5D=up&start=1',
      'other=1',
      '',
      `query=${'a'.repeat(3000)}`,
      'query=%E0%A4%A', // a malformed escape, kept as written
    ];
    for (let round = 0; round < 3; round++) {
      for (const row of rows) {
        for (const query of queries) {
          assert.equal(cached(row, query, undefined), part(row, query, undefined), `${mode} ${row.join()} ${query.slice(0, 30)}`);
        }
      }
    }
    // A form body's parameters come first and are never taken from the map.
    assert.equal(cached(rows[0], 'query=up', Buffer.from('query=down')), part(rows[0], 'query=up', Buffer.from('query=down')));
    assert.notEqual(cached(rows[0], 'query=up', Buffer.from('query=down')), cached(rows[0], 'query=up', undefined));
  }
});

test('a Grafana user is recorded with its mapped teams and its policy as coming from them; a service account from its own grant', () => {
  const grafanaUser = createIdentity({
    subject: 'grafana:user:7',
    tenants: ['team-a'],
    policy: buildLabelPolicy({ values: ['team-a'] }),
    authenticator: 'grafana',
    grafana: { user: 'user:7 (alice)', org: 1, teams: ['alpha'] },
  });
  const described = describeIdentity(grafanaUser);
  assert.deepEqual(described.identity.teams, ['alpha']);
  assert.equal(described.policy.source, 'grafana_teams');
  const serviceAccount = createIdentity({
    subject: 'grafana:service-account:3',
    tenants: ['team-a'],
    policy: buildLabelPolicy({ values: ['team-a'] }),
    authenticator: 'grafana',
    grafana: { user: 'service-account:3', org: 1, teams: [] },
  });
  assert.equal(describeIdentity(serviceAccount).policy.source, 'grafana_service_account');
  assert.equal(describeIdentity(identity).identity.teams, undefined, 'a token entry has no teams');
});
