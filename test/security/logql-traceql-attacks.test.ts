import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findSelectors, parseLogQuery } from '../../src/enforce/logql/parse.js';
import { readSelectorMatchers } from '../../src/enforce/logql/selector.js';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import type { RecordingUpstream } from '../servers/recording-upstream.js';

// Hostile LogQL and TraceQL from a team-a identity, through the gateway to recording Loki and Tempo
// upstreams. Each attack either is refused (400, nothing forwarded) or arrives as exactly the enforced query.
const fixture = gatewayFixture({
  tokens: { 'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' } },
  upstreams: { loki: {}, tempo: {} },
  config: (_, { loki, tempo }) => ({
    proxy: {
      upstreams: [
        { type: 'loki', name: 'loki', match: 'loki\\.example', upstream: loki },
        { type: 'tempo', name: 'tempo', match: 'tempo\\.example', upstream: tempo },
      ],
    },
  }),
});

function get(host: string, path: string, params: [string, string][]): Promise<RawResponse> {
  return sendRaw(fixture.gateway.url, { path: `${path}?${new URLSearchParams(params)}`, headers: { authorization: 'Bearer tok-a', host } });
}

/** Every value of `name` the upstream received, URL and form body together. */
function receivedValues(upstream: RecordingUpstream, name: string): string[] {
  assert.equal(upstream.requests.length, 1);
  const [only] = upstream.requests;
  const url = new URL(only!.url, 'http://upstream');
  return [...url.searchParams.getAll(name), ...new URLSearchParams(only!.body.toString()).getAll(name)];
}

/** Every stream selector of a LogQL query carries namespace="team-a" (the property the policy promises). */
function assertEverySelectorEnforced(query: string): void {
  const parsed = parseLogQuery(query);
  const selectors = findSelectors(parsed);
  assert.ok(selectors.length > 0);
  for (const selector of selectors) {
    const matchers = readSelectorMatchers(parsed, selector);
    assert.ok(
      matchers.some((m) => m.label === 'namespace' && m.op === '=' && m.value === 'team-a'),
      `unenforced selector in ${query}`,
    );
  }
}

describe('LogQL attacks', () => {
  const rewritten: { name: string; query: string; want: string }[] = [
    { name: 'conflicting matcher', query: '{namespace="team-b"}', want: '{namespace="team-a"}' },
    { name: 'regex widening to everything', query: '{namespace=~".*"}', want: '{namespace="team-a"}' },
    { name: 'regex alternation with another tenant', query: '{namespace=~"team-a|team-b"}', want: '{namespace="team-a"}' },
    { name: 'negative matcher', query: '{namespace!="team-a"}', want: '{namespace!="team-a", namespace="team-a"}' },
    {
      name: '`or` of a second selector',
      query: 'sum(count_over_time({app="x"}[1m])) or sum(count_over_time({namespace="team-b"}[1m]))',
      want: 'sum(count_over_time({app="x", namespace="team-a"}[1m])) or sum(count_over_time({namespace="team-a"}[1m]))',
    },
    {
      name: 'binary operation with an unrelated selector',
      query: 'rate({namespace="team-b"}[1m]) / on() rate({app="y"}[1m])',
      want: 'rate({namespace="team-a"}[1m]) / on() rate({app="y", namespace="team-a"}[1m])',
    },
    {
      name: 'selector hidden in a comment',
      query: '{app="x"} # {namespace="team-b"}',
      want: '{app="x", namespace="team-a"} # {namespace="team-b"}',
    },
    {
      name: 'label filter after a parser',
      query: '{app="x"} | json | namespace="team-b"',
      want: '{app="x", namespace="team-a"} | json | namespace="team-b"',
    },
  ];
  for (const { name, query, want } of rewritten) {
    test(`${name}: the upstream receives only the enforced query`, async () => {
      const res = await get('loki.example', '/loki/api/v1/query_range', [['query', query]]);
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(receivedValues(fixture.upstreams.loki, 'query'), [want]);
      assertEverySelectorEnforced(want);
    });
  }

  test('a repeated query parameter: every occurrence is enforced', async () => {
    const res = await get('loki.example', '/loki/api/v1/query', [
      ['query', '{app="x"}'],
      ['query', '{namespace="team-b"}'],
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(receivedValues(fixture.upstreams.loki, 'query'), ['{app="x", namespace="team-a"}', '{namespace="team-a"}']);
  });

  test('a query in both the URL and the form body: both are enforced', async () => {
    const res = await sendRaw(fixture.gateway.url, {
      method: 'POST',
      path: `/loki/api/v1/query?${new URLSearchParams([['query', '{namespace="team-b"}']])}`,
      headers: { authorization: 'Bearer tok-a', host: 'loki.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([['query', '{namespace=~".+"}']]).toString(),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(receivedValues(fixture.upstreams.loki, 'query'), ['{namespace="team-a"}', '{namespace="team-a"}']);
  });

  for (const query of ['{app="x"', '{app="x"} |=', 'sum(', '{app=`x}', '{app="x"}[1m]']) {
    test(`invalid LogQL ${JSON.stringify(query)} is 400 and reaches nothing`, async () => {
      const res = await get('loki.example', '/loki/api/v1/query', [['query', query]]);
      assert.equal(res.status, 400);
      assert.equal(res.json().code, 'query_parse_error');
      assert.equal(fixture.upstreams.loki.requests.length, 0);
    });
  }

  test('a metric query where a log selector is required is 400', async () => {
    const res = await get('loki.example', '/loki/api/v1/index/stats', [['query', 'sum(rate({app="x"}[1m]))']]);
    assert.equal(res.status, 400);
    assert.equal(fixture.upstreams.loki.requests.length, 0);
  });
});

describe('TraceQL attacks', () => {
  const POLICY = 'resource.namespace = "team-a"';
  const rewritten: { name: string; q: string; want: string }[] = [
    { name: 'conflicting condition', q: '{ resource.namespace = "team-b" }', want: `{ (resource.namespace = "team-b") && ${POLICY} }` },
    { name: 'regex widening', q: '{ resource.namespace =~ ".*" }', want: `{ (resource.namespace =~ ".*") && ${POLICY} }` },
    { name: 'unscoped attribute', q: '{ .namespace = "team-b" }', want: `{ (.namespace = "team-b") && ${POLICY} }` },
    {
      name: '`||` of spansets',
      q: '{ } || { resource.namespace = "team-b" }',
      want: `{ ${POLICY} } || { (resource.namespace = "team-b") && ${POLICY} }`,
    },
    {
      name: 'structural operator',
      q: '{ } >> { resource.namespace="team-b" }',
      want: `{ ${POLICY} } >> { (resource.namespace="team-b") && ${POLICY} }`,
    },
    { name: 'always-true filter', q: '{ true }', want: `{ (true) && ${POLICY} }` },
  ];
  for (const { name, q, want } of rewritten) {
    test(`${name}: the upstream receives only the enforced query`, async () => {
      const res = await get('tempo.example', '/api/search', [['q', q]]);
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(receivedValues(fixture.upstreams.tempo, 'q'), [want]);
    });
  }

  test('a comment cannot hide the rest of the query from the policy', async () => {
    const res = await get('tempo.example', '/api/search', [['q', '{ span.a = 1 } // && resource.namespace = "team-b"']]);
    assert.equal(res.status, 200);
    const [received] = receivedValues(fixture.upstreams.tempo, 'q');
    assert.match(String(received), /^\{ \(span\.a = 1\) && resource\.namespace = "team-a" \}\s*$/);
  });

  for (const q of ['{ span.a = ', '{ span.a = 1', 'resource.namespace = "team-a"', '{ span.a = 1 } | by(']) {
    test(`invalid TraceQL ${JSON.stringify(q)} is 400 and reaches nothing`, async () => {
      const res = await get('tempo.example', '/api/search', [['q', q]]);
      assert.equal(res.status, 400, res.body.toString());
      assert.equal(fixture.upstreams.tempo.requests.length, 0);
    });
  }
});
