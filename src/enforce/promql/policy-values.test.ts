import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { compileConservativeRegex, compileLabelSetCheck } from './policy-values.js';

describe('compileConservativeRegex', () => {
  const inSubset: [string, string, boolean][] = [
    ['min.*', 'minio', true],
    ['min.*', 'xminio', false],
    ['a|b', 'b', true],
    ['team-[a-c]+', 'team-abc', true],
    ['team-[^x]', 'team-y', true],
    ['(?:ab){2,3}', 'abab', true],
    ['v\\.1', 'v.1', true],
    ['v\\.1', 'vx1', false],
    ['.+', 'a\nb', false], // JS `.` is narrower than RE2's (?s:.): never a false "allowed"
  ];
  for (const [re, value, want] of inSubset) {
    it(`${re} on ${JSON.stringify(value)} → ${want}`, () => assert.equal(compileConservativeRegex(re)?.test(value), want));
  }
  const outside = [
    '\\w+',
    '\\s',
    '\\d+',
    '(?i)abc',
    '^a',
    'a$',
    '[[:alpha:]]',
    '\\p{L}',
    'a{2000}',
    '{',
    '[]a]',
    'a**',
    // Backtracking could explode: repeated groups holding a quantifier or an alternation, many quantifiers.
    '([a-z]+-?)+',
    '(?:a|b){2,3}',
    '(a|a)*b',
    '((a)+)*',
    'a.*b.*c.*d.*e',
  ];
  for (const re of outside) {
    it(`does not decide ${re}`, () => assert.equal(compileConservativeRegex(re), undefined));
  }
});

describe('compileLabelSetCheck', () => {
  const policy = buildLabelPolicy({ values: ['min.*', 'stolon'], labels: { cluster: 'eu' } }) as LabelPolicy;
  const check = compileLabelSetCheck(policy);
  it('allows a label set inside every rule', () => assert.equal(check({ namespace: 'minio', cluster: 'eu' }), true));
  it('refuses a value outside a rule', () => assert.equal(check({ namespace: 'mongo', cluster: 'eu' }), false));
  it('refuses a label set lacking an enforced label', () => assert.equal(check({ namespace: 'stolon' }), false));
  it('refuses non-string values', () => assert.equal(check({ namespace: ['stolon'], cluster: 'eu' }), false));
  it('treats an undecidable regex as not matching', () => {
    const wide = buildLabelPolicy({ values: ['\\w+'] }) as LabelPolicy;
    assert.equal(compileLabelSetCheck(wide)({ namespace: 'abc' }), false);
  });
});
