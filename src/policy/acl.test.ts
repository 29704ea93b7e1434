import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AclError, parseAcl, resolveRolesPolicy } from './acl.js';
import { describePolicy } from './label-policy.js';

const ACL = parseAcl(`
admin: .*
implicit-admin: "min.*, .*, stolon"
multiple-values: "min.*, stolon"
single-value: default
listed: [kube-system, monitoring]
`);

const cases: { name: string; roles: string[]; assume?: boolean; want: string }[] = [
  { name: '.* is full access', roles: ['admin'], want: 'full' },
  { name: '.* among other values is full access', roles: ['implicit-admin'], want: 'full' },
  { name: 'regex and literal of one role', roles: ['multiple-values'], want: 'namespace=~"stolon|min.*"' },
  { name: 'single literal', roles: ['single-value'], want: 'namespace="default"' },
  { name: 'roles are unioned', roles: ['single-value', 'listed'], want: 'namespace=~"default|kube-system|monitoring"' },
  { name: 'full access wins a merge', roles: ['single-value', 'admin'], want: 'full' },
  { name: 'unknown roles are ignored', roles: ['nope', 'single-value'], want: 'namespace="default"' },
  { name: 'no known role is no policy', roles: ['nope'], want: 'none' },
  { name: 'no roles is no policy', roles: [], want: 'none' },
  { name: 'assumed role becomes a value', roles: ['team-x', 'single-value'], assume: true, want: 'namespace=~"default|team-x"' },
  { name: 'assumed role may be a regex', roles: ['team-.*'], assume: true, want: 'namespace=~"team-.*"' },
  { name: 'an assumed role matching empty is skipped', roles: ['.*?'], assume: true, want: 'none' },
];

for (const c of cases) {
  test(`acl: ${c.name}`, () => {
    assert.equal(describePolicy(resolveRolesPolicy(ACL, c.roles, { assumeRoles: c.assume ?? false })), c.want);
  });
}

test('acl: the label name is configurable', () => {
  const acl = parseAcl('ops: prod', { label: 'env' });
  assert.equal(describePolicy(resolveRolesPolicy(acl, ['ops'])), 'env="prod"');
});

test('acl: invalid documents are refused with the role named', () => {
  assert.throws(() => parseAcl('- a\n- b'), AclError);
  assert.throws(() => parseAcl('bad: 12'), /role "bad"/);
  assert.throws(() => parseAcl('empty: ""'), /role "empty" has no values/);
  assert.throws(() => parseAcl('unsafe: "a|.*?"'), /role "unsafe".*empty string/);
  assert.equal(parseAcl('').roles.size, 0);
});

test('acl: a role may be a list of selectors (the list form); roles union exactly', () => {
  const acl = parseAcl(`
team-a:
  - { namespace: a, env: prod }
  - { namespace: shared }
ops: "ops-.*"
`);
  assert.equal(describePolicy(resolveRolesPolicy(acl, ['team-a'])), '{namespace="a",env="prod"} or {namespace="shared"}');
  assert.equal(describePolicy(resolveRolesPolicy(acl, ['team-a', 'ops'])), '{namespace="a",env="prod"} or {namespace=~"shared|ops-.*"}');
  assert.throws(() => parseAcl('bad:\n  - { namespace: "" }'), /role "bad"/);
});
