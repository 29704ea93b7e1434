import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLabelPolicy, buildSelectorsPolicy, type LimitedPolicy } from '../policy/label-policy.js';
import { InexpressiblePolicy } from './errors.js';
import { enforceLogQuery } from './logql/enforce.js';
import { onlySelector } from './one-selector.js';

const TWO = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LimitedPolicy;

test('onlySelector: the one selector, or InexpressiblePolicy for several (never a per-label merge)', () => {
  const one = buildLabelPolicy({ values: ['a'] }) as LimitedPolicy;
  assert.equal(onlySelector(one, 'x'), one.selectors[0]);
  assert.throws(() => onlySelector(TWO, 'a LogQL stream selector'), InexpressiblePolicy);
});

test('an enforcer that cannot OR refuses a policy of several selectors', () => {
  assert.throws(() => enforceLogQuery('{app="x"}', TWO), InexpressiblePolicy);
});
