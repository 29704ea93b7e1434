import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, type LabelPolicy, type LabelRule } from '../../policy/label-policy.js';
import { enforceQuery } from './enforce.js';
import { compilePolicy } from './inject.js';

describe('compilePolicy', () => {
  it('compiles a built (frozen) policy once', () => {
    const policy = buildLabelPolicy({ values: ['team-a', 'min.*'] }) as Extract<LabelPolicy, { fullAccess: false }>;
    assert.equal(compilePolicy(policy), compilePolicy(policy));
  });

  it('compiles a policy that is not frozen on every call, so a later change to it is seen', () => {
    const rule: { label: string; literals: string[]; regexes: string[] } = { label: 'namespace', literals: ['team-a'], regexes: [] };
    const rules: LabelRule[] = [rule];
    const policy: { fullAccess: false; selectors: LabelRule[][] } = { fullAccess: false, selectors: [rules] };
    assert.equal(enforceQuery('up{namespace="team-a"}', policy), 'up{namespace="team-a"}');
    rule.literals = ['team-b'];
    assert.equal(enforceQuery('up{namespace="team-a"}', policy), 'up{namespace="team-b"}');
    rules.push({ label: 'cluster', literals: ['eu'], regexes: [] });
    assert.equal(enforceQuery('up', policy), 'up{namespace="team-b", cluster="eu"}');
  });
});
