import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { InexpressiblePolicy, QueryParseError } from '../errors.js';
import { enforceQuery, enforceSelector, enforceSelectors } from './enforce.js';
import { findUnenforcedSelectors } from './verify.js';

function policyOf(values: string[], labels?: Record<string, string>): LabelPolicy {
  return buildLabelPolicy({ values, ...(labels ? { labels } : {}) }) as LabelPolicy;
}

const ONE = policyOf(['team-a']);
const LFGW = policyOf(['min.*', 'stolon']);
const TWO = policyOf(['a', 'b'], { cluster: 'eu' });

interface Row {
  name: string;
  query: string;
  policy: LabelPolicy;
  want?: string;
  wantError?: boolean;
}

const ROWS: Row[] = [
  { name: 'bare metric', query: 'up', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'keeps other matchers', query: 'up{job="x"}', policy: ONE, want: 'up{job="x", namespace="team-a"}' },
  { name: 'regex policy anchored alternation', query: 'up', policy: TWO, want: 'up{namespace=~"a|b", cluster="eu"}' },
  { name: 'conflicting equality replaced', query: 'up{namespace="other"}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'allowed equality kept (literal)', query: 'up{namespace="team-a"}', policy: ONE, want: 'up{namespace="team-a"}' },
  // Prometheus keeps a leading byte-order mark in the value: "\uFEFFteam-a" is not team-a, so it is replaced.
  {
    name: 'a byte-order mark before an allowed value is another value',
    query: 'up{namespace="\uFEFFteam-a"}',
    policy: ONE,
    want: 'up{namespace="team-a"}',
  },
  { name: 'lfgw dedup: equality matched by policy regex', query: 'up{namespace="minio"}', policy: LFGW, want: 'up{namespace="minio"}' },
  { name: 'equality not matched by policy regex', query: 'up{namespace="mongo"}', policy: LFGW, want: 'up{namespace=~"stolon|min.*"}' },
  { name: 'wide regex dropped', query: 'up{namespace=~".*"}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'narrow-looking regex still replaced', query: 'up{namespace=~"team-a"}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'empty equality dropped', query: 'up{namespace=""}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'negative kept and policy added', query: 'up{namespace!=""}', policy: ONE, want: 'up{namespace!="", namespace="team-a"}' },
  { name: 'negative regex kept', query: 'up{namespace!~"x.*"}', policy: LFGW, want: 'up{namespace!~"x.*", namespace=~"stolon|min.*"}' },
  {
    name: 'mixed: one allowed equality pins, regex dropped',
    query: 'up{namespace=~".+", namespace="stolon"}',
    policy: LFGW,
    want: 'up{namespace="stolon"}',
  },
  { name: '__name__ regex still enforced', query: '{__name__=~".+"}', policy: ONE, want: '{__name__=~".+", namespace="team-a"}' },
  { name: 'empty braces', query: 'up{}', policy: ONE, want: 'up{namespace="team-a"}' },
  {
    name: 'quoted label name on enforced label',
    query: '{"foo.bar", "namespace"=~".*"}',
    policy: ONE,
    want: '{"foo.bar", namespace="team-a"}',
  },
  {
    name: 'or with unfiltered vector',
    query: 'up or on() vector(1) or secret',
    policy: ONE,
    want: 'up{namespace="team-a"} or on() vector(1) or secret{namespace="team-a"}',
  },
  {
    name: 'unless',
    query: 'up unless ignoring(namespace) other',
    policy: ONE,
    want: 'up{namespace="team-a"} unless ignoring(namespace) other{namespace="team-a"}',
  },
  {
    name: 'label_replace forging the label',
    query: 'label_replace(secret, "namespace", "team-a", "", "")',
    policy: ONE,
    want: 'label_replace(secret{namespace="team-a"}, "namespace", "team-a", "", "")',
  },
  {
    name: 'subquery with offset and @',
    query: 'max_over_time(rate(x[5m])[1h:1m] offset 1d @ end())',
    policy: ONE,
    want: 'max_over_time(rate(x{namespace="team-a"}[5m])[1h:1m] offset 1d @ end())',
  },
  {
    name: 'aggregation with parameter',
    query: 'topk by (job) (3, sum without (pod) (x))',
    policy: ONE,
    want: 'topk by (job) (3, sum without (pod) (x{namespace="team-a"}))',
  },
  {
    name: 'binary with bool and group_left',
    query: 'a > bool on(x) group_left(y) b',
    policy: ONE,
    want: 'a{namespace="team-a"} > bool on(x) group_left(y) b{namespace="team-a"}',
  },
  { name: 'unary and parens', query: '-(a + 1) ^ 2', policy: ONE, want: '-(a{namespace="team-a"} + 1) ^ 2' },
  { name: 'scalar only stays', query: '1 + 2 * time()', policy: ONE, want: '1 + 2 * time()' },
  { name: 'comment removed', query: 'up # note', policy: ONE, want: 'up{namespace="team-a"}  ' },
  { name: 'comment ending in CR hides nothing', query: 'up # x\r or secret', policy: ONE, want: 'up{namespace="team-a"}  ' },
  { name: 'comment inside selector', query: 'up{job="x", # c\n}', policy: ONE, want: 'up{job="x", namespace="team-a"}' },
  {
    name: 'escapes decoded and re-quoted',
    query: "up{path='a\\\\b\"c', u=`\\x`}",
    policy: ONE,
    want: 'up{path="a\\\\b\\"c", u="\\\\x", namespace="team-a"}',
  },
  { name: 'unicode value', query: 'up{city="Zürich\\u00e9"}', policy: ONE, want: 'up{city="Zürich\u00e9", namespace="team-a"}' },
  { name: 'policy value with quote is escaped', query: 'up', policy: policyOf(['a"b']), want: 'up{namespace="a\\"b"}' },
  { name: 'full access unchanged', query: 'sum(up) # c', policy: FULL_ACCESS, want: 'sum(up) # c' },
  { name: 'full access still parses', query: 'sum(', policy: FULL_ACCESS, wantError: true },
  { name: 'syntax error', query: 'up{', policy: ONE, wantError: true },
  { name: 'unterminated string', query: 'up{a="b', policy: ONE, wantError: true },
  { name: 'empty query', query: '  ', policy: ONE, wantError: true },
  { name: 'MetricsQL or-filters', query: 'up{a="b" or c="d"}', policy: ONE, wantError: true },
  { name: 'MetricsQL WITH', query: 'WITH (x = up) x', policy: ONE, wantError: true },
  { name: 'MetricsQL keep_metric_names', query: 'rate(x[5m]) keep_metric_names', policy: ONE, wantError: true },
  { name: 'unknown function', query: 'secret_fn(up)', policy: ONE, wantError: true },
  { name: 'invalid escape', query: 'up{a="\\q"}', policy: ONE, wantError: true },
  { name: 'single quote escape in double string', query: 'up{a="\\\'"}', policy: ONE, wantError: true },
  { name: 'invalid utf8 escape', query: 'up{a="\\xff"}', policy: ONE, wantError: true },
];

describe('enforceQuery', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      if (row.wantError) {
        assert.throws(() => enforceQuery(row.query, row.policy), QueryParseError);
        return;
      }
      assert.equal(enforceQuery(row.query, row.policy), row.want);
    });
  }
});

describe('enforceSelector', () => {
  const rows: Row[] = [
    { name: 'metric', query: 'up', policy: ONE, want: 'up{namespace="team-a"}' },
    { name: 'braces only', query: '{job="x"}', policy: ONE, want: '{job="x", namespace="team-a"}' },
    { name: 'full access canonical', query: "up{job='x'}", policy: FULL_ACCESS, want: 'up{job="x"}' },
    { name: 'trailing comment', query: 'up # c', policy: ONE, want: 'up{namespace="team-a"}' },
    { name: 'offset refused', query: 'up offset 5m', policy: ONE, wantError: true },
    { name: 'expression refused', query: 'up or secret', policy: ONE, wantError: true },
    { name: 'function refused', query: 'rate(up[5m])', policy: ONE, wantError: true },
    { name: 'range refused', query: 'up[5m]', policy: ONE, wantError: true },
    { name: 'parens refused', query: '(up)', policy: ONE, wantError: true },
  ];
  for (const row of rows) {
    it(row.name, () => {
      if (row.wantError) {
        assert.throws(() => enforceSelector(row.query, row.policy), QueryParseError);
        return;
      }
      assert.equal(enforceSelector(row.query, row.policy), row.want);
    });
  }
});

describe('enforceQuery under a policy of several selectors (DNF)', () => {
  const DNF = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const S1 = 'namespace="a", env="prod"';
  const S2 = 'namespace="shared"';
  const rows: { name: string; query: string; want?: string; refused?: true }[] = [
    { name: 'a selector becomes the union of its copies', query: 'up', want: `(up{${S1}} or up{${S2}})` },
    { name: 'modifiers go with each copy', query: 'up offset 5m @ 10', want: `(up{${S1}} offset 5m @ 10 or up{${S2}} offset 5m @ 10)` },
    {
      name: 'a per-series range function is distributed',
      query: 'rate(x{job="j"}[5m])',
      want: `(rate(x{job="j", ${S1}}[5m]) or rate(x{job="j", ${S2}}[5m]))`,
    },
    {
      name: 'inside an aggregation',
      query: 'sum by (job) (rate(x[5m]))',
      want: `sum by (job) ((rate(x{${S1}}[5m]) or rate(x{${S2}}[5m])))`,
    },
    { name: 'a subquery reads the union', query: 'max_over_time(up[1h:])', want: `max_over_time((up{${S1}} or up{${S2}})[1h:])` },
    { name: 'timestamp keeps reading sample timestamps', query: 'timestamp(up)', want: `(timestamp(up{${S1}}) or timestamp(up{${S2}}))` },
    {
      name: 'absent of the union is absent from every copy',
      query: 'absent(up{job="j"})',
      want: `(absent(up{job="j", ${S1}}) and on() absent(up{job="j", ${S2}}))`,
    },
    {
      name: 'a client matcher on a policy label narrows (kept), never widens',
      query: 'up{namespace="shared"}',
      want: `(up{namespace="shared", ${S1}} or up{namespace="shared"})`,
    },
    {
      name: 'a widening regex is ANDed with each selector',
      query: 'up{namespace=~".*"}',
      want: `(up{namespace=~".*", ${S1}} or up{namespace=~".*", ${S2}})`,
    },
    {
      name: 'an empty-matching client matcher stays and selects nothing extra',
      query: 'up{env=""}',
      want: `(up{env="", ${S1}} or up{env="", ${S2}})`,
    },
    {
      name: 'an allowed equality pins its label (no duplicate matcher)',
      query: 'up{namespace="a"}',
      want: `(up{namespace="a", env="prod"} or up{namespace="a", ${S2}})`,
    },
    {
      name: 'a union after a bare group_left gets an empty label list (else it would be read as one)',
      query: 'a + on(x) group_left b',
      want: `(a{${S1}} or a{${S2}}) + on(x) group_left () (b{${S1}} or b{${S2}})`,
    },
    { name: 'a top-level range vector is refused', query: 'up[5m]', refused: true },
    { name: 'a range vector outside a per-series function is refused', query: 'absent(up[5m])', refused: true },
  ];
  for (const row of rows) {
    it(row.name, () => {
      if (row.refused) {
        assert.throws(() => enforceQuery(row.query, DNF), InexpressiblePolicy);
        return;
      }
      const out = enforceQuery(row.query, DNF);
      assert.equal(out, row.want);
      assert.deepEqual(findUnenforcedSelectors(out, DNF), []);
    });
  }

  it('a selector that tries to read outside every policy selector fails the independent check', () => {
    assert.notDeepEqual(findUnenforcedSelectors('up{namespace="a"} or up{namespace="b", env="prod"}', DNF), []);
    assert.notDeepEqual(findUnenforcedSelectors('up{namespace="a"}', DNF), [], 'namespace a without env=prod is outside');
    assert.deepEqual(findUnenforcedSelectors(`up{${S2}, job="x"} or up{${S1}}`, DNF), []);
  });

  it('match[] becomes one selector per policy selector (ORed by Prometheus)', () => {
    assert.deepEqual(enforceSelectors('up{job="x"}', DNF), [`up{job="x", ${S1}}`, `up{job="x", ${S2}}`]);
    assert.deepEqual(enforceSelectors('up', ONE), ['up{namespace="team-a"}']);
    assert.throws(() => enforceSelector('up', DNF), InexpressiblePolicy);
  });

  it('a policy constraining __name__ is refused under several selectors, and a rewrite that would explode', () => {
    const byName = buildSelectorsPolicy([{ __name__: 'up' }, { namespace: 'a' }]) as LabelPolicy;
    assert.throws(() => enforceQuery('up', byName), InexpressiblePolicy);
    const nested = `${'max_over_time('.repeat(12)}up${'[1h:])'.repeat(12)}`;
    const wide = buildSelectorsPolicy([{ a: 'x' }, { b: 'y' }, { c: 'z' }]) as LabelPolicy;
    assert.ok(enforceQuery(nested, wide).length > 0);
    // Each distributed unit copies what it holds: 3 selectors, 8 levels → 3^8 copies of the innermost one.
    const fanOut = `${'quantile_over_time(scalar('.repeat(8)}up${'), up[5m])'.repeat(8)}`;
    assert.throws(() => enforceQuery(fanOut, wide), /would exceed/);
  });
});
