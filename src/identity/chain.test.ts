import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_ACCESS } from '../policy/label-policy.js';
import { HttpError, Unauthorized } from '../core/http-errors.js';
import type { Authenticator } from './authenticator.js';
import { createAuthenticatorChain } from './chain.js';
import { createIdentity } from './identity.js';

const clock = { now: () => 1_700_000_000_000 };
const identity = (subject: string, expiresAt?: number) =>
  createIdentity({ subject, tenants: ['t'], policy: FULL_ACCESS, authenticator: subject, ...(expiresAt ? { expiresAt } : {}) });

const notMine: Authenticator = { name: 'not-mine', authenticate: () => undefined };
const refuses: Authenticator = {
  name: 'strict',
  authenticate: () => {
    throw new Unauthorized('bad_signature', 'signature does not verify');
  },
};
const accepts: Authenticator = { name: 'lenient', authenticate: () => identity('lenient') };

async function refusal(authenticators: Authenticator[], credentials = { bearer: { header: 'authorization', token: 'x' } }) {
  const chain = createAuthenticatorChain(authenticators, { clock, challenge: 'Bearer' });
  return chain.authenticate(credentials).then(
    () => assert.fail('expected a refusal'),
    (error: unknown) => {
      assert.ok(error instanceof HttpError);
      return error;
    },
  );
}

test('a recognised but bad credential stops the chain and names who refused it', async () => {
  const error = await refusal([notMine, refuses, accepts]);
  assert.equal(error.code, 'bad_signature');
  assert.equal(error.decidedBy, 'strict');
});

test('every outcome is observed once, with the authenticator that decided', async () => {
  const seen: string[] = [];
  const observe = (authenticator: string, result: string) => seen.push(`${authenticator}:${result}`);
  const credentials = { bearer: { header: 'authorization', token: 'x' } };
  await createAuthenticatorChain([notMine, accepts], { clock, challenge: 'Bearer', observe }).authenticate(credentials);
  await createAuthenticatorChain([notMine, refuses], { clock, challenge: 'Bearer', observe }).authenticate(credentials).catch(() => undefined);
  await createAuthenticatorChain([notMine], { clock, challenge: 'Bearer', observe }).authenticate(credentials).catch(() => undefined);
  assert.deepEqual(seen, ['lenient:success', 'strict:refused', 'none:unrecognised']);
});

test('the first identity wins; nobody recognising the credential is 401 invalid_credentials', async () => {
  const chain = createAuthenticatorChain([notMine, accepts, refuses], { clock, challenge: 'Bearer' });
  assert.equal((await chain.authenticate({ bearer: { header: 'authorization', token: 'x' } })).subject, 'lenient');
  assert.equal((await refusal([notMine])).code, 'invalid_credentials');
  assert.equal((await refusal([notMine], {} as never)).code, 'missing_credentials');
});

test('an identity past its expiry is refused even if an authenticator returned it', async () => {
  const expired: Authenticator = { name: 'cached', authenticate: () => identity('cached', clock.now() / 1000 - 1) };
  assert.equal((await refusal([expired])).code, 'token_expired');
});

test('credentials of several kinds are judged one by one: they must agree; an anonymous authenticator vouches for none', async () => {
  const byKind: Authenticator = {
    name: 'by-kind',
    authenticate: (c) => (c.basic ? identity(c.basic.username) : c.bearer ? identity(c.bearer.token) : undefined),
  };
  const anonymous: Authenticator = { name: 'fixed', anonymous: true, authenticate: () => identity('anonymous') };
  const chain = createAuthenticatorChain([byKind, anonymous], { clock, challenge: 'Bearer' });
  const bearer = (token: string) => ({ header: 'authorization', token });
  assert.equal((await chain.authenticate({ basic: { username: 'a', password: '' }, bearer: bearer('a') })).subject, 'a');
  const conflict = await chain.authenticate({ basic: { username: 'a', password: '' }, bearer: bearer('b') }).catch((e: unknown) => e);
  assert.ok(conflict instanceof HttpError);
  assert.equal(conflict.code, 'conflicting_credentials');
  // An X-Id-Token nobody accepts is no credential: the bearer alone decides; nothing recognised → anonymous.
  assert.equal((await chain.authenticate({ bearer: bearer('a'), idToken: 'x.y.z' })).subject, 'a');
  const none = createAuthenticatorChain([notMine, anonymous], { clock, challenge: 'Bearer' });
  assert.equal((await none.authenticate({ bearer: bearer('a'), idToken: 'x.y.z' })).subject, 'anonymous');
});
