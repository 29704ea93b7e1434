import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FULL_ACCESS,
  PolicyError,
  buildLabelPolicy,
  buildSelectorsPolicy,
  describePolicy,
  policyMatchers,
  unionLabelPolicies,
  type LabelPolicy,
} from './label-policy.js';

const one = (input: Parameters<typeof buildLabelPolicy>[0]): LabelPolicy => buildLabelPolicy(input) as LabelPolicy;

const cases: { name: string; selectors: Parameters<typeof buildSelectorsPolicy>[0]; want: string }[] = [
  {
    name: 'one selector reads as the single-selector form',
    selectors: [{ namespace: 'a', env: 'prod' }],
    want: 'namespace="a",env="prod"',
  },
  {
    name: 'two selectors on different labels stay two',
    selectors: [{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }],
    want: '{namespace="a",env="prod"} or {namespace="shared"}',
  },
  {
    name: 'selectors differing in one label are joined',
    selectors: [
      { namespace: 'a', env: 'prod' },
      { namespace: 'b', env: 'prod' },
    ],
    want: 'namespace=~"a|b",env="prod"',
  },
  {
    name: 'a narrower selector is absorbed by a wider one',
    selectors: [{ namespace: 'a', env: 'prod' }, { namespace: 'a' }],
    want: 'namespace="a"',
  },
  {
    name: 'a literal inside a regex of the wider selector is absorbed',
    selectors: [{ namespace: 'team-a', env: 'prod' }, { namespace: 'team-.*' }],
    want: 'namespace=~"team-.*"',
  },
  {
    name: 'identical selectors are kept once',
    selectors: [{ namespace: ['a', 'b'] }, { namespace: ['b', 'a'] }],
    want: 'namespace=~"a|b"',
  },
  { name: 'a list of values is one rule', selectors: [{ namespace: ['a', 'min.*'] }], want: 'namespace=~"a|min.*"' },
  { name: '.* alone is full access', selectors: [{ namespace: '.*' }, { namespace: 'a' }], want: 'full' },
  { name: '.* beside another label drops only its label', selectors: [{ namespace: '.*', env: 'prod' }], want: 'env="prod"' },
  { name: 'no selector is no policy', selectors: [], want: 'none' },
];

for (const c of cases) {
  test(`buildSelectorsPolicy: ${c.name}`, () => {
    assert.equal(describePolicy(buildSelectorsPolicy(c.selectors)), c.want);
  });
}

test('buildSelectorsPolicy refuses what would silently mean everything, or is unsafe', () => {
  assert.throws(() => buildSelectorsPolicy([{}]), PolicyError);
  assert.throws(() => buildSelectorsPolicy([{ namespace: [] }]), PolicyError);
  assert.throws(() => buildSelectorsPolicy([{ namespace: '' }]), PolicyError);
  assert.throws(() => buildSelectorsPolicy([{ 'bad-label': 'a' }]), PolicyError);
  assert.throws(() => buildSelectorsPolicy([{ namespace: 'a|.*?' }]), /empty string/);
  assert.throws(() => buildSelectorsPolicy([{ namespace: '.*', 'bad-label': 'x' }]), PolicyError);
});

test('unionLabelPolicies: full access wins, undefined adds nothing', () => {
  assert.equal(unionLabelPolicies([]), undefined);
  assert.equal(unionLabelPolicies([undefined]), undefined);
  assert.equal(unionLabelPolicies([one({ values: ['a'] }), FULL_ACCESS]), FULL_ACCESS);
  assert.equal(describePolicy(unionLabelPolicies([undefined, one({ values: ['a'] })])), 'namespace="a"');
});

test('unionLabelPolicies is exact where the per-label merge widened', () => {
  // {ns=a, cluster=eu} ∪ {ns=b, cluster=us}: per label would allow {ns=a, cluster=us}.
  const union = unionLabelPolicies([one({ values: ['a'], labels: { cluster: 'eu' } }), one({ values: ['b'], labels: { cluster: 'us' } })]);
  assert.equal(describePolicy(union), '{namespace="a",cluster="eu"} or {namespace="b",cluster="us"}');
});

test('unionLabelPolicies of one-label sources is the former per-label merge (ACL roles)', () => {
  const union = unionLabelPolicies([
    one({ values: ['default'] }),
    one({ values: ['kube-system', 'monitoring'] }),
    one({ values: ['min.*'] }),
  ]);
  assert.equal(describePolicy(union), 'namespace=~"default|kube-system|monitoring|min.*"');
});

test('a regex is never absorbed into another regex it is not written as', () => {
  const union = unionLabelPolicies([one({ values: ['team-.*'] }), one({ values: ['team-a.*'], labels: { env: 'prod' } })]);
  assert.equal(describePolicy(union), '{namespace=~"team-.*"} or {namespace=~"team-a.*",env="prod"}');
});

test('policyMatchers refuses a policy of several selectors (one AND list cannot carry it)', () => {
  const union = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  assert.throws(() => policyMatchers(union), PolicyError);
  assert.deepEqual(policyMatchers(one({ values: ['a'] })), [{ label: 'namespace', op: '=', value: 'a' }]);
});

test('policies are frozen all the way down', () => {
  const policy = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]);
  assert.ok(policy && !policy.fullAccess);
  assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.selectors));
  assert.ok(policy.selectors.every((s) => Object.isFrozen(s) && s.every((r) => Object.isFrozen(r) && Object.isFrozen(r.literals))));
});

test('selectors with two rules on one label are never joined (that would widen)', () => {
  // {namespace="a", namespace="x"} or {namespace="x", namespace="a"}: both empty; a join by label would give namespace="x".
  const a = one({ values: ['a'], labels: { namespace: 'x' } });
  const b = one({ label: 'namespace', values: ['x'], labels: { namespace: 'a' } });
  assert.equal(describePolicy(unionLabelPolicies([a, b])), '{namespace="a",namespace="x"} or {namespace="x",namespace="a"}');
});
