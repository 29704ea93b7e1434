import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_ACCESS, buildLabelPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { enforceLogQuery, enforceLogSelector } from './enforce.js';

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
  { name: 'keeps negative matchers and adds the policy', query: '{namespace!="team-b", namespace!~"x.*"}', policy: TWO, want: '{namespace!="team-b", namespace!~"x.*", namespace=~"team-a|team-b"}' },
  { name: 'conflicting matchers: both positives replaced', query: '{namespace="team-a", namespace="team-z"}', policy: ONE, want: '{namespace="team-a"}' },
  { name: 'enforces every label of a multi-label policy', query: '{cluster="us", namespace="team-a"}', policy: MULTI, want: '{namespace="team-a", cluster="eu"}' },
  { name: 'keeps the pipeline byte for byte', query: '{app="x"} |= `err` | json | level="error"', policy: ONE, want: '{app="x", namespace="team-a"} |= `err` | json | level="error"' },
  { name: 'label filter on the policy label is not a selector', query: '{app="x"} | namespace="team-z"', policy: ONE, want: '{app="x", namespace="team-a"} | namespace="team-z"' },
  { name: 'label_format forging stays, selection is enforced', query: '{app="x"} | label_format namespace="team-z"', policy: ONE, want: '{app="x", namespace="team-a"} | label_format namespace="team-z"' },
  { name: 'line_format stays', query: '{app="x"} | line_format "{{.namespace}}"', policy: ONE, want: '{app="x", namespace="team-a"} | line_format "{{.namespace}}"' },
  { name: 'metric query', query: 'sum by (level) (rate({app="x"}[5m]))', policy: ONE, want: 'sum by (level) (rate({app="x", namespace="team-a"}[5m]))' },
  { name: 'binary op: both sides', query: 'rate({a="1"}[1m]) / rate({namespace="team-z"}[1m])', policy: ONE, want: 'rate({a="1", namespace="team-a"}[1m]) / rate({namespace="team-a"}[1m])' },
  { name: 'or of selectors', query: 'count_over_time({a="1"}[1m]) or count_over_time({namespace=~".*"}[1m])', policy: ONE, want: 'count_over_time({a="1", namespace="team-a"}[1m]) or count_over_time({namespace="team-a"}[1m])' },
  { name: 'or with vector()', query: 'sum(rate({a="1"}[1m])) or vector(0)', policy: ONE, want: 'sum(rate({a="1", namespace="team-a"}[1m])) or vector(0)' },
  { name: 'approx_topk (Loki 3.3)', query: 'approx_topk(5, sum by (app) (rate({app="x"}[5m])))', policy: ONE, want: 'approx_topk(5, sum by (app) (rate({app="x", namespace="team-a"}[5m])))' },
  { name: 'approx_count_distinct over a parsed range', query: 'sum by (a) (approx_count_distinct(level, {app="x"} | json [5m]))', policy: ONE, want: 'sum by (a) (approx_count_distinct(level, {app="x", namespace="team-a"} | json [5m]))' },
  { name: 'nested topk, quantile_over_time, label_replace', query: 'topk(3, label_replace(quantile_over_time(0.9, {a="1"} | unwrap d [5m]) by (p), "x", "$1", "p", "(.*)"))', policy: ONE, want: 'topk(3, label_replace(quantile_over_time(0.9, {a="1", namespace="team-a"} | unwrap d [5m]) by (p), "x", "$1", "p", "(.*)"))' },
  { name: 'comment does not hide a selector', query: '{a="1"} # {namespace=~".+"}\n|= "x"', policy: ONE, want: '{a="1", namespace="team-a"} # {namespace=~".+"}\n|= "x"' },
  { name: 'string holding a selector stays a string', query: '{a="1"} |= "{namespace=\\"team-z\\"}"', policy: ONE, want: '{a="1", namespace="team-a"} |= "{namespace=\\"team-z\\"}"' },
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
