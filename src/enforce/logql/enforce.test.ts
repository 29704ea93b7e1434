import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_ACCESS, buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { InexpressiblePolicy, QueryParseError } from '../errors.js';
import { enforceLogQuery, enforceLogSelector, enforceLogSelectors } from './enforce.js';

const ONE = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const TWO = buildLabelPolicy({ values: ['team-a', 'team-b'] }) as LabelPolicy;
const REGEX = buildLabelPolicy({ values: ['team-.+'] }) as LabelPolicy;
const MULTI = buildLabelPolicy({ values: ['team-a'], labels: { cluster: 'eu' } }) as LabelPolicy;

interface Case {
  readonly name: string;
  readonly query: string;
  readonly policy: LabelPolicy;
  readonly want?: string;
  readonly wantError?: true;
}

const CASES: readonly Case[] = [
  { name: 'adds the policy to a bare selector', query: '{app="x"}', policy: ONE, want: '{app="x", namespace="team-a"}' },
  { name: 'keeps an equality on a policy literal', query: '{namespace="team-a"}', policy: TWO, want: '{namespace="team-a"}' },
  { name: 'replaces an equality outside the policy', query: '{namespace="team-z"}', policy: ONE, want: '{namespace="team-a"}' },
  { name: 'replaces regex widening', query: '{namespace=~".+", app="x"}', policy: ONE, want: '{app="x", namespace="team-a"}' },
  { name: 'replaces a regex even inside a regex policy', query: '{namespace=~"team-a"}', policy: REGEX, want: '{namespace=~"team-.+"}' },
  { name: 'several literals become an alternation', query: '{app="x"}', policy: TWO, want: '{app="x", namespace=~"team-a|team-b"}' },
  {
    name: 'keeps negative matchers and adds the policy',
    query: '{namespace!="team-b", namespace!~"x.*"}',
    policy: TWO,
    want: '{namespace!="team-b", namespace!~"x.*", namespace=~"team-a|team-b"}',
  },
  {
    name: 'conflicting matchers: both positives replaced',
    query: '{namespace="team-a", namespace="team-z"}',
    policy: ONE,
    want: '{namespace="team-a"}',
  },
  {
    name: 'enforces every label of a multi-label policy',
    query: '{cluster="us", namespace="team-a"}',
    policy: MULTI,
    want: '{namespace="team-a", cluster="eu"}',
  },
  {
    name: 'keeps the pipeline byte for byte',
    query: '{app="x"} |= `err` | json | level="error"',
    policy: ONE,
    want: '{app="x", namespace="team-a"} |= `err` | json | level="error"',
  },
  {
    name: 'label filter on the policy label is not a selector',
    query: '{app="x"} | namespace="team-z"',
    policy: ONE,
    want: '{app="x", namespace="team-a"} | namespace="team-z"',
  },
  {
    name: 'label_format forging stays, selection is enforced',
    query: '{app="x"} | label_format namespace="team-z"',
    policy: ONE,
    want: '{app="x", namespace="team-a"} | label_format namespace="team-z"',
  },
  {
    name: 'line_format stays',
    query: '{app="x"} | line_format "{{.namespace}}"',
    policy: ONE,
    want: '{app="x", namespace="team-a"} | line_format "{{.namespace}}"',
  },
  {
    name: 'metric query',
    query: 'sum by (level) (rate({app="x"}[5m]))',
    policy: ONE,
    want: 'sum by (level) (rate({app="x", namespace="team-a"}[5m]))',
  },
  {
    name: 'binary op: both sides',
    query: 'rate({a="1"}[1m]) / rate({namespace="team-z"}[1m])',
    policy: ONE,
    want: 'rate({a="1", namespace="team-a"}[1m]) / rate({namespace="team-a"}[1m])',
  },
  {
    name: 'or of selectors',
    query: 'count_over_time({a="1"}[1m]) or count_over_time({namespace=~".*"}[1m])',
    policy: ONE,
    want: 'count_over_time({a="1", namespace="team-a"}[1m]) or count_over_time({namespace="team-a"}[1m])',
  },
  {
    name: 'or with vector()',
    query: 'sum(rate({a="1"}[1m])) or vector(0)',
    policy: ONE,
    want: 'sum(rate({a="1", namespace="team-a"}[1m])) or vector(0)',
  },
  {
    name: 'approx_topk (Loki 3.3)',
    query: 'approx_topk(5, sum by (app) (rate({app="x"}[5m])))',
    policy: ONE,
    want: 'approx_topk(5, sum by (app) (rate({app="x", namespace="team-a"}[5m])))',
  },
  {
    name: 'approx_count_distinct over a parsed range',
    query: 'sum by (a) (approx_count_distinct(level, {app="x"} | json [5m]))',
    policy: ONE,
    want: 'sum by (a) (approx_count_distinct(level, {app="x", namespace="team-a"} | json [5m]))',
  },
  {
    name: 'nested topk, quantile_over_time, label_replace',
    query: 'topk(3, label_replace(quantile_over_time(0.9, {a="1"} | unwrap d [5m]) by (p), "x", "$1", "p", "(.*)"))',
    policy: ONE,
    want: 'topk(3, label_replace(quantile_over_time(0.9, {a="1", namespace="team-a"} | unwrap d [5m]) by (p), "x", "$1", "p", "(.*)"))',
  },
  {
    name: 'comment does not hide a selector',
    query: '{a="1"} # {namespace=~".+"}\n|= "x"',
    policy: ONE,
    want: '{a="1", namespace="team-a"} # {namespace=~".+"}\n|= "x"',
  },
  {
    name: 'string holding a selector stays a string',
    query: '{a="1"} |= "{namespace=\\"team-z\\"}"',
    policy: ONE,
    want: '{a="1", namespace="team-a"} |= "{namespace=\\"team-z\\"}"',
  },
  { name: 'raw-string matcher is re-quoted', query: '{a=`x"y`}', policy: ONE, want: '{a="x\\"y", namespace="team-a"}' },
  { name: 'escaped policy literal is kept', query: '{namespace="team\\x2da"}', policy: ONE, want: '{namespace="team-a"}' },
  { name: 'full access: unchanged', query: '{namespace=~".+"}', policy: FULL_ACCESS, want: '{namespace=~".+"}' },
  { name: 'syntax error', query: '{a="1"', policy: ONE, wantError: true },
  { name: 'syntax error under full access', query: 'rate({a="1"})', policy: FULL_ACCESS, wantError: true },
  { name: 'empty query', query: '  ', policy: ONE, wantError: true },
  { name: 'empty selector', query: '{}', policy: ONE, wantError: true },
  { name: 'invalid escape Loki would refuse', query: '{a="1"} |= "\\q"', policy: ONE, wantError: true },
  { name: 'Go block comment (Loki skips it, lezer does not)', query: '{a="1"} /* x */', policy: ONE, wantError: true },
  { name: 'Go line comment', query: 'rate({a="1"}[1m]) // {namespace="x"}', policy: ONE, wantError: true },
  { name: 'single-quoted string', query: "{a='1'}", policy: ONE, wantError: true },
  { name: 'trailing garbage', query: '{a="1"} {namespace="team-z"}', policy: ONE, wantError: true },
];

describe('enforceLogQuery', () => {
  for (const c of CASES) {
    it(c.name, () => {
      if (c.wantError) {
        assert.throws(() => enforceLogQuery(c.query, c.policy), QueryParseError);
      } else {
        assert.equal(enforceLogQuery(c.query, c.policy), c.want);
      }
    });
  }

  it('output re-enforces to itself (idempotent)', () => {
    for (const c of CASES.filter((x) => !x.wantError)) {
      const once = enforceLogQuery(c.query, c.policy);
      assert.equal(enforceLogQuery(once, c.policy), once, c.name);
    }
  });
});

describe('enforceLogSelector', () => {
  it('enforces a selector', () => {
    assert.equal(enforceLogSelector('{app="x"}', ONE), '{app="x", namespace="team-a"}');
  });
  it('accepts a selector with a pipeline', () => {
    assert.equal(enforceLogSelector('{app="x"} |= "e"', ONE), '{app="x", namespace="team-a"} |= "e"');
  });
  it('refuses a metric query', () => {
    assert.throws(() => enforceLogSelector('rate({app="x"}[1m])', ONE), QueryParseError);
  });
  it('refuses a metric query under full access too', () => {
    assert.throws(() => enforceLogSelector('count_over_time({a="1"}[1m])', FULL_ACCESS), QueryParseError);
  });
});

describe('LogQL under a policy of several selectors (DNF)', () => {
  const DNF = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const S1 = 'namespace="a", env="prod"';
  const S2 = 'namespace="shared"';
  const rows: { name: string; query: string; want?: string }[] = [
    {
      name: 'a range aggregation becomes the union of its copies',
      query: 'rate({app="x"} | json [5m])',
      want: `(rate({app="x", ${S1}} | json [5m]) or rate({app="x", ${S2}} | json [5m]))`,
    },
    {
      name: 'inside a vector aggregation, with offset',
      query: 'sum by (level) (count_over_time({app="x"} |= "err" [1m] offset 1h))',
      want: `sum by (level) ((count_over_time({app="x", ${S1}} |= "err" [1m] offset 1h) or count_over_time({app="x", ${S2}} |= "err" [1m] offset 1h)))`,
    },
    {
      name: 'a client matcher on a policy label is kept (narrows), never replaced',
      query: 'rate({namespace="shared"}[1m])',
      want: `(rate({namespace="shared", ${S1}}[1m]) or rate({namespace="shared"}[1m]))`,
    },
    {
      name: 'an empty-matching client regex is ANDed with each selector',
      query: 'rate({namespace=~".*", app="x"}[1m])',
      want: `(rate({namespace=~".*", app="x", ${S1}}[1m]) or rate({namespace=~".*", app="x", ${S2}}[1m]))`,
    },
    { name: 'a log query is refused (a stream selector cannot OR)', query: '{app="x"} |= "err"' },
    { name: 'a range aggregation with by() is refused (it merges streams)', query: 'sum_over_time({app="x"} | unwrap d [5m]) by (pod)' },
    { name: 'a pipeline that drops labels is refused', query: 'rate({app="x"} | json | drop namespace [5m])' },
    { name: 'a pipeline that rewrites labels is refused', query: 'rate({app="x"} | label_format namespace="shared" [5m])' },
    { name: 'absent_over_time is refused', query: 'absent_over_time({app="x"}[5m])' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      if (row.want === undefined) assert.throws(() => enforceLogQuery(row.query, DNF), InexpressiblePolicy);
      else assert.equal(enforceLogQuery(row.query, DNF), row.want);
    });
  }

  it('selectors that differ in one label are one regex matcher: log queries work', () => {
    const joined = buildSelectorsPolicy([
      { namespace: 'a', env: 'prod' },
      { namespace: 'b', env: 'prod' },
    ]) as LabelPolicy;
    assert.equal(enforceLogQuery('{app="x"}', joined), '{app="x", namespace=~"a|b", env="prod"}');
  });

  it('the series API gets one match[] per selector (Loki ORs them); other selector endpoints refuse', () => {
    assert.deepEqual(enforceLogSelectors('{app="x"}', DNF), [`{app="x", ${S1}}`, `{app="x", ${S2}}`]);
    assert.deepEqual(enforceLogSelectors('{app="x"}', ONE), ['{app="x", namespace="team-a"}']);
    assert.throws(() => enforceLogSelector('{app="x"}', DNF), InexpressiblePolicy);
  });
});
