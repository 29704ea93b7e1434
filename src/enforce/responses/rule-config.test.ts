import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { buildLabelPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { filterRuleConfig, type RuleLanguage } from './rule-config.js';

const TEAM_A = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const TEAM_A_OR_X = buildLabelPolicy({ values: ['team-a', 'x-.*'] }) as LabelPolicy;
const TEAM_A_EU = buildLabelPolicy({ values: ['team-a'], labels: { cluster: 'eu' } }) as LabelPolicy;

const group = (rules: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'g', rules, ...extra });
const record = (expr: string, labels?: Record<string, string>) => ({ record: 'r', expr, ...(labels ? { labels } : {}) });
const alert = (expr: string, annotations?: Record<string, string>) => ({
  alert: 'A',
  expr,
  for: '5m',
  ...(annotations ? { annotations } : {}),
});

interface Row {
  readonly name: string;
  readonly language: RuleLanguage;
  readonly rule: unknown;
  readonly policy?: LabelPolicy;
  readonly visible: boolean;
}

// One rule per row, in a group of its own: is the group shown to the policy (default team-a)?
const ROWS: Row[] = [
  {
    name: 'promql: equality on the own namespace',
    language: 'promql',
    rule: record('sum(rate(http_total{namespace="team-a"}[5m]))'),
    visible: true,
  },
  { name: 'promql: another namespace', language: 'promql', rule: record('sum(rate(http_total{namespace="team-b"}[5m]))'), visible: false },
  { name: 'promql: no namespace matcher (reads every namespace)', language: 'promql', rule: record('sum(up)'), visible: false },
  {
    name: 'promql: one of two selectors outside',
    language: 'promql',
    rule: record('up{namespace="team-a"} / on() up{namespace="team-b"}'),
    visible: false,
  },
  { name: 'promql: a regex matcher, even a narrow one', language: 'promql', rule: record('up{namespace=~"team-a"}'), visible: false },
  {
    name: 'promql: the policy regex itself',
    language: 'promql',
    policy: TEAM_A_OR_X,
    rule: record('up{namespace=~"team-a|x-.*"}'),
    visible: true,
  },
  {
    name: 'promql: equality on a value the policy regex allows',
    language: 'promql',
    policy: TEAM_A_OR_X,
    rule: record('up{namespace="x-1"}'),
    visible: true,
  },
  {
    name: 'promql: equality plus a regex on the namespace',
    language: 'promql',
    rule: record('up{namespace="team-a",namespace=~".+"}'),
    visible: false,
  },
  { name: 'promql: negative matcher only', language: 'promql', rule: record('up{namespace!="team-b"}'), visible: false },
  { name: 'promql: subquery inside', language: 'promql', rule: alert('max_over_time(up{namespace="team-a"}[1h:5m]) == 0'), visible: true },
  { name: "promql: no selector, no labels (nobody's)", language: 'promql', rule: record('vector(1)'), visible: false },
  {
    name: 'promql: no selector, labelled with the own namespace',
    language: 'promql',
    rule: record('vector(1)', { namespace: 'team-a' }),
    visible: true,
  },
  {
    name: 'promql: no selector, labelled with another namespace',
    language: 'promql',
    rule: record('vector(1)', { namespace: 'team-b' }),
    visible: false,
  },
  {
    name: 'promql: no selector, one of two policy labels',
    language: 'promql',
    policy: TEAM_A_EU,
    rule: record('vector(1)', { namespace: 'team-a' }),
    visible: false,
  },
  {
    name: 'logql: no selector, labelled with the own namespace',
    language: 'logql',
    rule: record('vector(1)', { namespace: 'team-a' }),
    visible: true,
  },
  { name: 'promql: does not parse', language: 'promql', rule: record('sum(up{namespace="team-a"}'), visible: false },
  { name: 'promql: no expr', language: 'promql', rule: { record: 'r' }, visible: false },
  { name: 'promql: expr not a string', language: 'promql', rule: { record: 'r', expr: 1 }, visible: false },
  {
    name: 'promql: second policy label missing',
    language: 'promql',
    policy: TEAM_A_EU,
    rule: record('up{namespace="team-a"}'),
    visible: false,
  },
  {
    name: 'promql: both policy labels',
    language: 'promql',
    policy: TEAM_A_EU,
    rule: record('up{namespace="team-a",cluster="eu"}'),
    visible: true,
  },
  {
    name: 'promql: labels claim another namespace',
    language: 'promql',
    rule: record('up{namespace="team-a"}', { namespace: 'team-b' }),
    visible: false,
  },
  {
    name: 'promql: labels claim the own namespace',
    language: 'promql',
    rule: record('up{namespace="team-a"}', { namespace: 'team-a', severity: 'page' }),
    visible: true,
  },
  {
    name: 'promql: annotation runs a query',
    language: 'promql',
    rule: alert('up{namespace="team-a"} == 0', { summary: '{{ with query "up{namespace=\'team-b\'}" }}{{ . }}{{ end }}' }),
    visible: false,
  },
  {
    name: 'promql: annotation templating without query',
    language: 'promql',
    rule: alert('up{namespace="team-a"} == 0', { summary: '{{ $labels.instance }} is down' }),
    visible: true,
  },
  {
    name: 'logql: metric query on the own namespace',
    language: 'logql',
    rule: record('sum(rate({namespace="team-a"} |= "error" [5m]))'),
    visible: true,
  },
  { name: 'logql: another namespace', language: 'logql', rule: record('sum(rate({namespace="team-b"}[5m]))'), visible: false },
  { name: 'logql: no namespace matcher', language: 'logql', rule: record('sum(rate({app="api"}[5m]))'), visible: false },
  { name: 'logql: regex on the namespace', language: 'logql', rule: record('sum(rate({namespace=~"team-.*"}[5m]))'), visible: false },
  {
    name: 'logql: one side of a binary operation outside',
    language: 'logql',
    rule: record('sum(rate({namespace="team-a"}[5m])) / sum(rate({namespace="team-b"}[5m]))'),
    visible: false,
  },
  {
    name: 'logql: policy regex value allowed',
    language: 'logql',
    policy: TEAM_A_OR_X,
    rule: record('count_over_time({namespace="x-7"}[1m])'),
    visible: true,
  },
  { name: 'logql: does not parse', language: 'logql', rule: record('sum(rate({namespace="team-a"}[5m])'), visible: false },
  { name: 'logql: a PromQL-only construct', language: 'logql', rule: record('up{namespace="team-a"}'), visible: false },
];

function listing(namespaces: Record<string, unknown[]>): Buffer {
  return Buffer.from(stringify(namespaces));
}

function shown(body: Buffer | undefined): unknown {
  return body === undefined ? undefined : parse(body.toString('utf8'));
}

describe('filterRuleConfig: which rules are inside the policy', () => {
  for (const row of ROWS) {
    it(`${row.name}: ${row.visible ? 'shown' : 'hidden'}`, () => {
      const g = group([row.rule]);
      const out = filterRuleConfig(listing({ ns: [g] }), row.policy ?? TEAM_A, row.language, 'namespaces');
      assert.deepEqual(shown(out), row.visible ? { ns: [g] } : undefined);
      const single = filterRuleConfig(Buffer.from(stringify(g)), row.policy ?? TEAM_A, row.language, 'group');
      assert.deepEqual(shown(single), row.visible ? g : undefined);
    });
  }
});

describe('filterRuleConfig: groups and namespaces', () => {
  const mine = group([record('up{namespace="team-a"}')], { name: 'mine', interval: '1m' });
  const theirs = group([record('up{namespace="team-b"}')], { name: 'theirs' });
  const mixed = group([record('up{namespace="team-a"}'), record('up{namespace="team-b"}')], { name: 'mixed' });

  it('keeps whole groups only, drops namespaces left empty, keeps group fields as they were', () => {
    const out = filterRuleConfig(listing({ 'team-a-rules': [mine, mixed], 'team-b-rules': [theirs] }), TEAM_A, 'promql', 'namespaces');
    assert.deepEqual(shown(out), { 'team-a-rules': [mine] });
  });

  it('hides a federated group (source_tenants reads other tenants)', () => {
    const federated = { ...mine, source_tenants: ['team-a', 'team-b'] };
    assert.equal(filterRuleConfig(listing({ ns: [federated] }), TEAM_A, 'promql', 'namespaces'), undefined);
    assert.deepEqual(shown(filterRuleConfig(listing({ ns: [{ ...mine, source_tenants: [] }] }), TEAM_A, 'promql', 'namespaces')), {
      ns: [{ ...mine, source_tenants: [] }],
    });
  });

  it('writes visible groups back so that YAML 1.1 and 1.2 readers get the same strings, long expressions unfolded', () => {
    const expr = `sum(rate(http_requests_total{namespace="team-a", code=~"5.."}[5m])) by (job) / ${'sum(up{namespace="team-a"}) + '.repeat(8)}1`;
    const g = group([record(expr, { namespace: 'team-a', enabled: 'on', answer: 'yes', day: '2001-01-01', ratio: '1.0' })]);
    const out = filterRuleConfig(listing({ ns: [g] }), TEAM_A, 'promql', 'namespaces')?.toString('utf8') ?? '';
    assert.deepEqual(parse(out), { ns: [g] });
    assert.deepEqual(parse(out, { version: '1.1' }), { ns: [g] });
    assert.ok(
      out.split('\n').some((line) => line.trim() === `expr: ${expr}`),
      out,
    );
  });

  it('hides an empty group', () => {
    assert.equal(filterRuleConfig(listing({ ns: [group([])] }), TEAM_A, 'promql', 'namespaces'), undefined);
  });

  it('returns the body unchanged for full access, without reading it', () => {
    const body = Buffer.from('not yaml: [');
    assert.equal(filterRuleConfig(body, FULL_ACCESS, 'promql', 'namespaces'), body);
  });

  const unreadable: { name: string; body: Buffer; shape?: 'group' }[] = [
    { name: 'gzip', body: gzipSync(listing({ ns: [mine] })) },
    { name: 'JSON error text', body: Buffer.from('{"status":"error","error":"boom"}'), shape: 'group' },
    { name: 'plain text', body: Buffer.from('no rule groups found\n') },
    { name: 'empty body', body: Buffer.alloc(0) },
    { name: 'a list instead of a mapping', body: Buffer.from('- a\n- b\n') },
    { name: 'namespace not holding a list', body: Buffer.from('ns: {name: g}\n') },
    { name: 'two YAML documents', body: Buffer.from('ns: []\n---\nns2: []\n') },
    { name: 'duplicate keys', body: Buffer.from('ns: []\nns: []\n') },
    { name: 'aliases', body: Buffer.from('a: &x [1]\nb: *x\n') },
    { name: 'invalid UTF-8', body: Buffer.from([0x6e, 0x73, 0x3a, 0x20, 0xff, 0x0a]) },
  ];
  for (const { name, body, shape } of unreadable) {
    it(`fails closed on ${name}`, () => {
      assert.throws(() => filterRuleConfig(body, TEAM_A, 'promql', shape ?? 'namespaces'), UnsupportedInput);
    });
  }
});
