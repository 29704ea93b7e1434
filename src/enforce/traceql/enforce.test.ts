import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { enforceTraceQuery } from './enforce.js';

const nsA = buildLabelPolicy({ values: ['a'] }) as LabelPolicy;
const nsAB = buildLabelPolicy({ values: ['a', 'team-.*'] }) as LabelPolicy;
const nsAndCluster = buildLabelPolicy({ values: ['a'], labels: { cluster: 'eu' } }) as LabelPolicy;
const A = 'resource.namespace = "a"';

interface Case {
  name: string;
  query: string;
  policy?: LabelPolicy;
  want?: string;
  wantError?: true;
}

const cases: Case[] = [
  { name: 'empty filter', query: '{}', want: `{ ${A} }` },
  { name: 'blank filter', query: '{ }', want: `{ ${A} }` },
  { name: 'empty query is a search without q', query: '', want: `{ ${A} }` },
  { name: 'blank query', query: '  ', want: `{ ${A} }` },
  { name: 'single condition', query: '{ .a = "x" }', want: `{ (.a = "x") && ${A} }` },
  { name: 'or inside a filter stays inside the parentheses', query: '{ .a = 1 || .b = 2 }', want: `{ (.a = 1 || .b = 2) && ${A} }` },
  { name: 'or of spansets: both sides', query: '{ .a = 1 } || {}', want: `{ (.a = 1) && ${A} } || { ${A} }` },
  { name: 'and of spansets', query: '{ .a = 1 } && { .b = 2 }', want: `{ (.a = 1) && ${A} } && { (.b = 2) && ${A} }` },
  { name: 'descendant', query: '{ .a = 1 } >> { }', want: `{ (.a = 1) && ${A} } >> { ${A} }` },
  { name: 'child', query: '{} > {}', want: `{ ${A} } > { ${A} }` },
  { name: 'sibling', query: '{} ~ {}', want: `{ ${A} } ~ { ${A} }` },
  { name: 'negated descendant', query: '{ .a = 1 } !>> {}', want: `{ (.a = 1) && ${A} } !>> { ${A} }` },
  { name: 'union structural', query: '{} &>> {}', want: `{ ${A} } &>> { ${A} }` },
  {
    name: 'parenthesised spanset operators',
    query: '{} >> ({ .a=1 } || { .b = 1 })',
    want: `{ ${A} } >> ({ (.a=1) && ${A} } || { (.b = 1) && ${A} })`,
  },
  { name: 'scalar filter pipeline', query: '{ .a = 1 } | count() > 2', want: `{ (.a = 1) && ${A} } | count() > 2` },
  { name: 'select and by', query: '{} | select(span.foo) | by(resource.x)', want: `{ ${A} } | select(span.foo) | by(resource.x)` },
  { name: 'filter after a pipe', query: '{ .a = 1 } | { .b = 2 }', want: `{ (.a = 1) && ${A} } | { (.b = 2) && ${A} }` },
  { name: 'metrics', query: '{ } | rate() by (resource.service.name)', want: `{ ${A} } | rate() by (resource.service.name)` },
  { name: 'compare selection', query: '{ } | compare({ .a = 1 }, 10)', want: `{ ${A} } | compare({ (.a = 1) && ${A} }, 10)` },
  {
    name: 'same attribute with another value stays ANDed',
    query: '{ resource.namespace = "b" }',
    want: `{ (resource.namespace = "b") && ${A} }`,
  },
  { name: 'span.namespace is another attribute', query: '{ span.namespace = "a" }', want: `{ (span.namespace = "a") && ${A} }` },
  { name: 'negation', query: '{ !(.a = 1) }', want: `{ (!(.a = 1)) && ${A} }` },
  { name: 'block comment removed', query: '/* c */ { .a = 1 }', want: `  { (.a = 1) && ${A} }` },
  { name: 'line comment removed', query: '{ .a = 1 } // } || { true', want: `{ (.a = 1) && ${A} }  ` },
  { name: 'comment inside an empty filter', query: '{ /* x */ }', want: `{ ${A} }` },
  { name: 'string that looks like a filter end', query: '{ .a = "\\"} || {true" }', want: `{ (.a = "\\"} || {true") && ${A} }` },
  { name: 'regex rule is anchored', query: '{}', policy: nsAB, want: '{ resource.namespace =~ "^(?:a|team-.*)$" }' },
  { name: 'two rules', query: '{ .x = 1 }', policy: nsAndCluster, want: `{ (.x = 1) && ${A} && resource.cluster = "eu" }` },
  { name: 'comment inside a condition', query: '{ .a = 1 /* } || { */ && .b = 2 }', want: `{ (.a = 1   && .b = 2) && ${A} }` },
  { name: 'full access unchanged', query: '{ .a = 1 } || {}', policy: FULL_ACCESS, want: '{ .a = 1 } || {}' },
  { name: 'syntax error', query: '{ .a = }', wantError: true },
  { name: 'unclosed filter', query: '{ .a = 1', wantError: true },
  { name: 'pipeline starting with select', query: 'select(.a)', wantError: true },
  { name: 'pipeline starting with a scalar filter', query: 'count() > 1', wantError: true },
  { name: 'metrics without a filter', query: 'rate()', wantError: true },
  { name: 'or with a bare scalar filter', query: '{ .a = 1 } || count() > 1', wantError: true },
  { name: 'garbage after the query', query: '{} }', wantError: true },
  { name: 'hint the grammar does not know', query: '{} | rate() with (sample=true)', wantError: true },
];

describe('enforceTraceQuery', () => {
  for (const c of cases) {
    it(c.name, () => {
      const run = () => enforceTraceQuery(c.query, c.policy ?? nsA);
      if (c.wantError) assert.throws(run, QueryParseError);
      else assert.equal(run(), c.want);
    });
  }

  it('maps a label to a configured resource attribute', () => {
    const got = enforceTraceQuery('{}', nsA, { attributes: { namespace: 'k8s.namespace.name' } });
    assert.equal(got, '{ resource.k8s.namespace.name = "a" }');
  });

  it('refuses an attribute name that would change the query', () => {
    assert.throws(() => enforceTraceQuery('{}', nsA, { attributes: { namespace: 'x = 1 || .y' } }), TypeError);
  });

  it('quotes policy values so they cannot break out of the string', () => {
    const policy = buildLabelPolicy({ labels: { team: 'a" } || { true' } }) as LabelPolicy;
    assert.equal(enforceTraceQuery('{}', policy), '{ resource.team = "a\\" } || { true" }');
  });
});

describe('enforceTraceQuery under a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const P = '((resource.namespace = "a" && resource.env = "prod") || (resource.namespace = "shared"))';
  const rows: [string, string, string][] = [
    ['an empty query is the disjunction', '', `{ ${P} }`],
    ['a filter is ANDed with the whole disjunction', '{ .a = 1 || .b = 2 }', `{ (.a = 1 || .b = 2) && ${P} }`],
    ['both sides of a structural operator', '{ .x = 1 } >> { }', `{ (.x = 1) && ${P} } >> { ${P} }`],
    [
      'a condition trying to widen with || stays inside its parentheses',
      '{ true || resource.namespace = "b" }',
      `{ (true || resource.namespace = "b") && ${P} }`,
    ],
  ];
  for (const [name, query, want] of rows) it(name, () => assert.equal(enforceTraceQuery(query, dnf), want));

  it('a hostile value cannot break out of its selector', () => {
    const hostile = buildSelectorsPolicy([{ team: 'a" ) && ( true' }, { namespace: 'shared' }]) as LabelPolicy;
    const out = enforceTraceQuery('{ }', hostile);
    assert.equal(out, '{ ((resource.team =~ "^(?:a\\" ) && ( true)$") || (resource.namespace = "shared")) }');
    // A regex value that would match the empty string is refused when the policy is built.
    assert.throws(() => buildSelectorsPolicy([{ team: 'a" ) || ( true' }, { namespace: 'shared' }]), /empty string/);
  });
});
