import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';

// Rule configuration is tenant-wide in the ruler: an identity limited to namespace team-a must see only the rule
// groups whose every rule reads (and claims) inside team-a, never another namespace's expressions or labels.
// The rulers here are recording upstreams answering rule YAML (as Loki and Mimir write it) for several namespaces.
const LOKI_RULES = `team-a-rules:
    - name: errors
      interval: 1m
      rules:
        - record: team_a:errors:rate5m
          expr: sum(rate({namespace="team-a"} |= "error" [5m]))
          labels:
            namespace: team-a
    - name: mixed
      rules:
        - alert: TeamAErrors
          expr: sum(rate({namespace="team-a"}[5m])) > 1
        - alert: PeekAtTeamB
          expr: sum(rate({namespace="team-b"} |= "password" [5m])) > 0
team-b-rules:
    - name: secrets
      rules:
        - alert: TeamBSecretLeak
          expr: count_over_time({namespace="team-b", app="vault"} |= "token" [1m]) > 0
          annotations:
            summary: team-b vault leaks tokens
all-namespaces:
    - name: global
      rules:
        - record: all:lines:rate5m
          expr: sum by (namespace) (rate({job=~".+"}[5m]))
`;

const MIMIR_RULES = `team-a-rules:
    - name: availability
      rules:
        - alert: TeamADown
          expr: up{namespace="team-a"} == 0
          for: 5m
          labels:
            severity: page
    - name: claims-team-b
      rules:
        - record: team_b:up
          expr: up{namespace="team-a"}
          labels:
            namespace: team-b
team-b-rules:
    - name: payments
      rules:
        - record: team_b:payments:rate5m
          expr: sum(rate(payments_total{namespace="team-b", card="visa"}[5m]))
    - name: federated
      source_tenants: [team-a, team-b]
      rules:
        - record: x
          expr: up{namespace="team-a"}
`;

const ruleYaml = (text: string) => parse(text) as Record<string, { name: string }[]>;
const groupOf = (text: string, namespace: string, name: string) => ruleYaml(text)[namespace]!.find((g) => g.name === name)!;

type Answer = { status: number; body: Buffer; headers: Record<string, string> };
let answer: (path: string) => Answer;

function yamlAnswers(text: string): (path: string) => Answer {
  return (path) => {
    const parts = path.split('?')[0]!.split('/').filter(Boolean);
    const rules = ruleYaml(text);
    const yaml = { 'content-type': 'application/yaml' };
    const notFound = { status: 404, body: Buffer.from('no rule groups found\n'), headers: { 'content-type': 'text/plain' } };
    // After /loki/api/v1/rules or /prometheus/config/v1/rules: [namespace[, group]].
    const [namespace, group] = parts.slice(4);
    if (namespace === undefined) return { status: 200, body: Buffer.from(text), headers: yaml };
    const groups = rules[namespace];
    if (groups === undefined) return notFound;
    if (group === undefined) return { status: 200, body: Buffer.from(stringify({ [namespace]: groups })), headers: yaml };
    const found = groups.find((g) => g.name === group);
    return found ? { status: 200, body: Buffer.from(stringify(found)), headers: yaml } : notFound;
  };
}

const fixture = gatewayFixture({
  tokens: {
    'tok-a': { tenant: 'team-a', namespace: 'team-a' },
    'tok-tenant': { tenant: 'team-a', name: 'tenant-wide' },
  },
  upstream: {
    handler: (request, res) => {
      const { status, body, headers } = answer(request.url);
      res.writeHead(status, headers);
      res.end(body);
    },
  },
  config: (ruler) => ({
    proxy: {
      upstreams: [
        { type: 'loki', match: 'loki\\.example', upstream: ruler, priority: 10 },
        { type: 'mimir', match: 'mimir\\.example', upstream: ruler, priority: 10 },
      ],
    },
  }),
});

function get(host: string, path: string, token = 'tok-a') {
  return sendRaw(fixture.gateway.url, { path, headers: { host, authorization: `Bearer ${token}` } });
}

const CASES = [
  {
    ruler: 'loki',
    host: 'loki.example',
    base: '/loki/api/v1/rules',
    text: LOKI_RULES,
    own: ['team-a-rules', 'errors'],
    hidden: [
      ['team-a-rules', 'mixed'],
      ['team-b-rules', 'secrets'],
      ['all-namespaces', 'global'],
    ],
  },
  {
    ruler: 'mimir',
    host: 'mimir.example',
    base: '/prometheus/config/v1/rules',
    text: MIMIR_RULES,
    own: ['team-a-rules', 'availability'],
    hidden: [
      ['team-a-rules', 'claims-team-b'],
      ['team-b-rules', 'payments'],
      ['team-b-rules', 'federated'],
    ],
  },
] as const;

for (const c of CASES) {
  describe(`${c.ruler} ruler configuration for a limited identity`, () => {
    beforeEach(() => {
      answer = yamlAnswers(c.text);
    });

    test("the listing holds only the groups inside the policy, and no other namespace's expressions", async () => {
      const res = await get(c.host, c.base);
      assert.equal(res.status, 200, res.body.toString());
      const [ns, name] = c.own;
      assert.deepEqual(parse(res.body.toString()), { [ns]: [groupOf(c.text, ns, name)] });
      assert.doesNotMatch(res.body.toString(), /team-b/);
      assert.equal(fixture.upstream.requests.length, 1);
      assert.equal(fixture.upstream.requests[0]!.headers['x-scope-orgid'], 'team-a');
      assert.equal(fixture.upstream.requests[0]!.headers['accept-encoding'], 'identity');
    });

    test('a namespace: only its visible groups; a namespace with none is 404', async () => {
      const [ns, name] = c.own;
      const own = await get(c.host, `${c.base}/${ns}`);
      assert.equal(own.status, 200, own.body.toString());
      assert.deepEqual(parse(own.body.toString()), { [ns]: [groupOf(c.text, ns, name)] });
      const other = await get(c.host, `${c.base}/team-b-rules`);
      assert.equal(other.status, 404, other.body.toString());
      assert.equal(other.json<{ code: string }>().code, 'rule_group_not_found');
      assert.doesNotMatch(other.body.toString(), /team-b|payments|vault/);
    });

    test('a single group: its own is shown, every hidden one is 404 like a missing one', async () => {
      const [ns, name] = c.own;
      const own = await get(c.host, `${c.base}/${ns}/${name}`);
      assert.equal(own.status, 200, own.body.toString());
      assert.deepEqual(parse(own.body.toString()), groupOf(c.text, ns, name));
      for (const [hiddenNs, hiddenName] of c.hidden) {
        const res = await get(c.host, `${c.base}/${hiddenNs}/${hiddenName}`);
        assert.equal(res.status, 404, `${hiddenNs}/${hiddenName}: ${res.body.toString()}`);
        assert.equal(res.json<{ code: string }>().code, 'rule_group_not_found');
      }
      const missing = await get(c.host, `${c.base}/nope/nothing`);
      assert.equal(missing.status, 404);
    });

    test("a tenant-wide identity (no label policy) gets the ruler's answer as it is", async () => {
      const res = await get(c.host, c.base, 'tok-tenant');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), c.text);
    });

    const unreadable: { name: string; reply: Answer }[] = [
      {
        name: 'gzip (content-encoding)',
        reply: { status: 200, body: gzipSync(c.text), headers: { 'content-type': 'application/yaml', 'content-encoding': 'gzip' } },
      },
      {
        name: 'gzip bytes without a content-encoding',
        reply: { status: 200, body: gzipSync(c.text), headers: { 'content-type': 'application/yaml' } },
      },
      {
        name: 'an HTML page',
        reply: { status: 200, body: Buffer.from('<html><body>team-b secrets</body></html>'), headers: { 'content-type': 'text/html' } },
      },
      {
        name: 'a JSON envelope',
        reply: {
          status: 200,
          body: Buffer.from('{"status":"success","data":{"groups":[{"name":"x"}]}}'),
          headers: { 'content-type': 'application/json' },
        },
      },
    ];
    for (const { name, reply } of unreadable) {
      test(`an answer that is ${name} is 502 upstream_bad_response, never relayed`, async () => {
        answer = () => reply;
        const res = await get(c.host, c.base);
        assert.equal(res.status, 502, res.body.toString());
        assert.equal(res.json<{ code: string }>().code, 'upstream_bad_response');
        assert.doesNotMatch(res.body.toString(), /team-b/);
      });
    }
  });
}

test('legacy and unprefixed rule configuration paths are unknown (404) and never forwarded', async () => {
  answer = yamlAnswers(LOKI_RULES);
  for (const [host, path] of [
    ['loki.example', '/api/prom/rules'],
    ['loki.example', '/api/prom/rules/team-b-rules'],
    ['loki.example', '/api/prom/rules/team-b-rules/secrets'],
    ['mimir.example', '/api/v1/rules'],
    ['mimir.example', '/api/v1/rules/team-b-rules'],
    ['mimir.example', '/rules'],
  ] as const) {
    const res = await get(host, path);
    assert.equal(res.status, 404, `${host}${path}: ${res.body.toString()}`);
  }
  assert.equal(fixture.upstream.requests.length, 0);
});

describe('Prometheus-style rules API (JSON): a rule labelled inside the policy whose query reads outside it', () => {
  const rulesJson = (query: (ns: string) => string) => ({
    status: 'success',
    data: {
      groups: [
        {
          name: 'own',
          file: 'team-a-rules',
          rules: [{ type: 'recording', name: 'ok', query: query('team-a'), labels: { namespace: 'team-a' }, health: 'ok' }],
        },
        {
          name: 'peek',
          file: 'team-a-rules',
          rules: [{ type: 'recording', name: 'peek', query: query('team-b'), labels: { namespace: 'team-a' }, health: 'ok' }],
        },
      ],
    },
  });
  const cases = [
    { host: 'loki.example', path: '/prometheus/api/v1/rules', query: (ns: string) => `sum(rate({namespace="${ns}"} |= "password" [5m]))` },
    { host: 'mimir.example', path: '/prometheus/api/v1/rules', query: (ns: string) => `sum(rate(logins_total{namespace="${ns}"}[5m]))` },
  ];
  for (const { host, path, query } of cases) {
    test(`${host}${path}: the rule whose query reads team-b is not shown`, async () => {
      answer = () => ({
        status: 200,
        body: Buffer.from(JSON.stringify(rulesJson(query))),
        headers: { 'content-type': 'application/json' },
      });
      const res = await get(host, path);
      assert.equal(res.status, 200, res.body.toString());
      const groups = res.json<{ data: { groups: { name: string }[] } }>().data.groups;
      assert.deepEqual(
        groups.map((g) => g.name),
        ['own'],
      );
      assert.doesNotMatch(res.body.toString(), /team-b/);
    });
  }
});
