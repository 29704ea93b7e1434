import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unauthorized } from '../core/http-errors.js';
import { readClaimPath, readStringList } from './jwt-claims.js';

test('readClaimPath follows dotted paths (Keycloak realm_access.roles) and prefers a literal dotted name', () => {
  const payload = { realm_access: { roles: ['a', 'b'] }, 'https://x.io/roles': ['url'], flat: 'v' };
  assert.deepEqual(readClaimPath(payload, 'realm_access.roles'), ['a', 'b']);
  assert.deepEqual(readClaimPath(payload, 'https://x.io/roles'), ['url']);
  assert.equal(readClaimPath(payload, 'flat.deeper'), undefined);
  assert.equal(readClaimPath(payload, 'missing.path'), undefined);
});

test('readStringList accepts a string or string array, refuses other shapes', () => {
  assert.deepEqual(readStringList('x', 'c'), ['x']);
  assert.deepEqual(readStringList(['x', 'y'], 'c'), ['x', 'y']);
  assert.equal(readStringList(undefined, 'c'), undefined);
  assert.throws(
    () => readStringList([1], 'c'),
    (e: unknown) => e instanceof Unauthorized && e.code === 'invalid_claims',
  );
  assert.throws(() => readStringList({ a: 1 }, 'c'), Unauthorized);
});

test('readClaimsPolicy reads the selectors claim (the list form) and refuses it beside namespaces/labels', async () => {
  const { readClaimsPolicy } = await import('./jwt-claims.js');
  const { describePolicy } = await import('../policy/label-policy.js');
  const mapping = {
    tenantClaim: 'tenant_id',
    namespacesClaim: 'namespaces',
    labelsClaim: 'labels',
    selectorsClaim: 'selectors',
    policyLabel: 'namespace',
  };
  const selectors = [{ namespace: 'a', env: 'prod' }, { namespace: ['shared', 'ops-.*'] }];
  assert.equal(describePolicy(readClaimsPolicy({ selectors }, mapping)), '{namespace="a",env="prod"} or {namespace=~"shared|ops-.*"}');
  assert.equal(describePolicy(readClaimsPolicy({ namespaces: ['a'] }, mapping)), 'namespace="a"');
  const invalid = (e: unknown) => e instanceof Unauthorized && e.code === 'invalid_claims';
  assert.throws(() => readClaimsPolicy({ selectors, namespaces: ['a'] }, mapping), invalid);
  assert.throws(() => readClaimsPolicy({ selectors: { namespace: 'a' } }, mapping), invalid);
  assert.throws(() => readClaimsPolicy({ selectors: [{ namespace: 1 }] }, mapping), invalid);
  assert.throws(() => readClaimsPolicy({ selectors: [{}] }, mapping), invalid);
  assert.throws(() => readClaimsPolicy({ selectors: [] }, mapping), invalid);
  // Without a selectors claim configured, the claim is not read.
  const { selectorsClaim: _, ...legacy } = mapping;
  assert.equal(readClaimsPolicy({ selectors }, legacy), undefined);
});
