import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenSet, TokenSetError } from './token-set.js';
import { describePolicy } from '../policy/label-policy.js';

const options = { authenticator: 'static-token' };

test('a string entry is a tenant with no label policy and default scopes', () => {
  const set = parseTokenSet({ 'secret-a': 'tenant-a' }, options);
  const identity = set.lookup('secret-a');
  assert.ok(identity);
  assert.deepEqual(identity.tenants, ['tenant-a']);
  assert.equal(identity.policy, undefined);
  assert.deepEqual([...identity.scopes].sort(), ['read', 'write']);
  assert.equal(identity.authenticator, 'static-token');
  assert.match(identity.subject, /^sha256:[0-9a-f]{12}$/);
  assert.ok(!identity.subject.includes('secret-a'));
});

test('an object entry carries tenants, namespace policy, labels, scopes and name', () => {
  const set = parseTokenSet(
    {
      tok1: { tenants: ['t1', 't2'], namespaces: ['team-a', 'team-b-.*'], labels: { cluster: 'eu' }, scopes: ['read'], name: 'grafana' },
      tok2: { tenant: 't3', namespace: '.*' },
    },
    options,
  );
  const one = set.lookup('tok1');
  assert.ok(one);
  assert.equal(one.subject, 'grafana');
  assert.deepEqual(one.tenants, ['t1', 't2']);
  assert.deepEqual([...one.scopes], ['read']);
  assert.equal(describePolicy(one.policy), 'namespace=~"team-a|team-b-.*",cluster="eu"');
  assert.equal(describePolicy(set.lookup('tok2')?.policy), 'full');
  assert.equal(set.size, 2);
});

test('the policy label is configurable', () => {
  const set = parseTokenSet({ tok: { tenant: 't', namespace: 'a' } }, { ...options, policyLabel: 'team' });
  assert.equal(describePolicy(set.lookup('tok')?.policy), 'team="a"');
});

test('unknown, empty, prefix and suffix tokens are not found', () => {
  const set = parseTokenSet({ abcdef: 't' }, options);
  for (const probe of ['', 'abcde', 'abcdefg', 'ABCDEF', 'x']) assert.equal(set.lookup(probe), undefined, probe);
});

test('the set and its identities are frozen', () => {
  const set = parseTokenSet({ tok: 't' }, options);
  assert.ok(Object.isFrozen(set));
  assert.ok(Object.isFrozen(set.lookup('tok')));
});

const invalid: { name: string; raw: unknown; want: RegExp }[] = [
  { name: 'not an object', raw: ['a'], want: /must be an object/ },
  { name: 'null', raw: null, want: /must be an object/ },
  { name: 'both tenant and tenants', raw: { s3cr3t: { tenant: 'a', tenants: ['b'] } }, want: /token #1: give exactly one/ },
  { name: 'no tenant', raw: { s3cr3t: { namespace: 'a' } }, want: /token #1: give exactly one/ },
  { name: 'unknown key', raw: { ok: 't', s3cr3t: { tenant: 'a', tenantz: 'b' } }, want: /token #2: .*tenantz/ },
  { name: 'bad scope', raw: { s3cr3t: { tenant: 'a', scopes: ['root'], name: 'ci' } }, want: /token #1 \("ci"\): scopes\.0/ },
  { name: 'invalid tenant id', raw: { s3cr3t: 'a|b' }, want: /token #1: invalid tenant id/ },
  { name: 'empty-matching regex', raw: { s3cr3t: { tenant: 'a', namespace: 'x*' } }, want: /token #1: .*empty string/ },
  { name: 'whitespace in token', raw: { 's3cr3t ': 'a' }, want: /token #1: token contains whitespace/ },
  { name: 'empty token', raw: { '': 'a' }, want: /token #1: empty token/ },
  { name: 'number entry', raw: { s3cr3t: 5 }, want: /token #1: / },
  {
    name: 'duplicate names',
    raw: { a1: { tenant: 'a', name: 'n' }, s3cr3t: { tenant: 'b', name: 'n' } },
    want: /token #2 \("n"\): duplicate name/,
  },
];

for (const row of invalid) {
  test(`refuses ${row.name}, naming the entry but never the token`, () => {
    assert.throws(
      () => parseTokenSet(row.raw, options),
      (error: unknown) => {
        assert.ok(error instanceof TokenSetError);
        assert.match(error.message, row.want);
        assert.ok(!error.message.includes('s3cr3t'), error.message);
        return true;
      },
    );
  });
}

test('names every bad entry at once, not only the first', () => {
  const raw = { good1: 'a', 's3cr3t ': 'b', good2: 'c', other: { tenant: 'x', scopes: ['root'], name: 'ci' } };
  assert.throws(
    () => parseTokenSet(raw, options),
    (error: unknown) => {
      assert.ok(error instanceof TokenSetError);
      assert.equal(error.problems.length, 2, error.message);
      assert.match(error.problems[0] ?? '', /^token #2: token contains whitespace/);
      assert.match(error.problems[1] ?? '', /^token #4 \("ci"\): scopes\.0/);
      return true;
    },
  );
});

test('an entry may give its policy as a selectors list (ORed), never beside namespace(s)/labels', () => {
  const set = parseTokenSet({ tok: { tenant: 't', selectors: [{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }] } }, options);
  assert.equal(describePolicy(set.lookup('tok')?.policy), '{namespace="a",env="prod"} or {namespace="shared"}');
  assert.throws(
    () => parseTokenSet({ tok: { tenant: 't', namespace: 'a', selectors: [{ env: 'prod' }] } }, options),
    /either "selectors" or/,
  );
  assert.throws(() => parseTokenSet({ tok: { tenant: 't', selectors: [{}] } }, options), /names no label/);
  assert.throws(() => parseTokenSet({ tok: { tenant: 't', selectors: [{ namespace: 3 }] } }, options), TokenSetError);
});
