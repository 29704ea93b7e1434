import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { enforceQuery, enforceSelector } from './enforce.js';

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
  { name: 'a byte-order mark before an allowed value is another value', query: 'up{namespace="\uFEFFteam-a"}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'lfgw dedup: equality matched by policy regex', query: 'up{namespace="minio"}', policy: LFGW, want: 'up{namespace="minio"}' },
  { name: 'equality not matched by policy regex', query: 'up{namespace="mongo"}', policy: LFGW, want: 'up{namespace=~"stolon|min.*"}' },
  { name: 'wide regex dropped', query: 'up{namespace=~".*"}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'narrow-looking regex still replaced', query: 'up{namespace=~"team-a"}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'empty equality dropped', query: 'up{namespace=""}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'negative kept and policy added', query: 'up{namespace!=""}', policy: ONE, want: 'up{namespace!="", namespace="team-a"}' },
  { name: 'negative regex kept', query: 'up{namespace!~"x.*"}', policy: LFGW, want: 'up{namespace!~"x.*", namespace=~"stolon|min.*"}' },
  { name: 'mixed: one allowed equality pins, regex dropped', query: 'up{namespace=~".+", namespace="stolon"}', policy: LFGW, want: 'up{namespace="stolon"}' },
  { name: '__name__ regex still enforced', query: '{__name__=~".+"}', policy: ONE, want: '{__name__=~".+", namespace="team-a"}' },
  { name: 'empty braces', query: 'up{}', policy: ONE, want: 'up{namespace="team-a"}' },
  { name: 'quoted label name on enforced label', query: '{"foo.bar", "namespace"=~".*"}', policy: ONE, want: '{"foo.bar", namespace="team-a"}' },
  { name: 'or with unfiltered vector', query: 'up or on() vector(1) or secret', policy: ONE, want: 'up{namespace="team-a"} or on() vector(1) or secret{namespace="team-a"}' },
  { name: 'unless', query: 'up unless ignoring(namespace) other', policy: ONE, want: 'up{namespace="team-a"} unless ignoring(namespace) other{namespace="team-a"}' },
  { name: 'label_replace forging the label', query: 'label_replace(secret, "namespace", "team-a", "", "")', policy: ONE, want: 'label_replace(secret{namespace="team-a"}, "namespace", "team-a", "", "")' },
  { name: 'subquery with offset and @', query: 'max_over_time(rate(x[5m])[1h:1m] offset 1d @ end())', policy: ONE, want: 'max_over_time(rate(x{namespace="team-a"}[5m])[1h:1m] offset 1d @ end())' },
  { name: 'aggregation with parameter', query: 'topk by (job) (3, sum without (pod) (x))', policy: ONE, want: 'topk by (job) (3, sum without (pod) (x{namespace="team-a"}))' },
  { name: 'binary with bool and group_left', query: 'a > bool on(x) group_left(y) b', policy: ONE, want: 'a{namespace="team-a"} > bool on(x) group_left(y) b{namespace="team-a"}' },
  { name: 'unary and parens', query: '-(a + 1) ^ 2', policy: ONE, want: '-(a{namespace="team-a"} + 1) ^ 2' },
  { name: 'scalar only stays', query: '1 + 2 * time()', policy: ONE, want: '1 + 2 * time()' },
  { name: 'comment removed', query: 'up # note', policy: ONE, want: 'up{namespace="team-a"}  ' },
  { name: 'comment ending in CR hides nothing', query: 'up # x\r or secret', policy: ONE, want: 'up{namespace="team-a"}  ' },
  { name: 'comment inside selector', query: 'up{job="x", # c\n}', policy: ONE, want: 'up{job="x", namespace="team-a"}' },
  { name: 'escapes decoded and re-quoted', query: "up{path='a\\\\b\"c', u=`\\x`}", policy: ONE, want: 'up{path="a\\\\b\\"c", u="\\\\x", namespace="team-a"}' },
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
