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

/** The chain's answer as a promise: it answers at once when no authenticator waits, and may throw at once. */
const later = <T>(answer: () => T | Promise<T>): Promise<T> => Promise.resolve().then(answer);

async function refusal(authenticators: Authenticator[], credentials = { bearer: { header: 'authorization', token: 'x' } }) {
  const chain = createAuthenticatorChain(authenticators, { clock, challenge: 'Bearer' });
  return later(() => chain.authenticate(credentials)).then(
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
  await later(() => createAuthenticatorChain([notMine, refuses], { clock, challenge: 'Bearer', observe }).authenticate(credentials)).catch(
    () => undefined,
  );
  await later(() => createAuthenticatorChain([notMine], { clock, challenge: 'Bearer', observe }).authenticate(credentials)).catch(
    () => undefined,
  );
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
  const conflict = await later(() => chain.authenticate({ basic: { username: 'a', password: '' }, bearer: bearer('b') })).catch(
    (e: unknown) => e,
  );
  assert.ok(conflict instanceof HttpError);
  assert.equal(conflict.code, 'conflicting_credentials');
  // An X-Id-Token nobody accepts is no credential: the bearer alone decides; nothing recognised → anonymous.
  assert.equal((await chain.authenticate({ bearer: bearer('a'), idToken: 'x.y.z' })).subject, 'a');
  const none = createAuthenticatorChain([notMine, anonymous], { clock, challenge: 'Bearer' });
  assert.equal((await none.authenticate({ bearer: bearer('a'), idToken: 'x.y.z' })).subject, 'anonymous');
});

test('authenticators that answer at once give an identity at once; one that waits is waited for, in order', async () => {
  const credentials = { bearer: { header: 'authorization', token: 'x' } };
  const now = createAuthenticatorChain([notMine, accepts], { clock, challenge: 'Bearer' }).authenticate(credentials);
  assert.ok(!(now instanceof Promise));
  assert.equal(now.subject, 'lenient');

  const slowNotMine: Authenticator = { name: 'slow-not-mine', authenticate: async () => undefined };
  const slowAccepts: Authenticator = { name: 'slow', authenticate: async () => identity('slow') };
  const asked: string[] = [];
  const spy = (a: Authenticator): Authenticator => ({
    name: a.name,
    authenticate: (c) => {
      asked.push(a.name);
      return a.authenticate(c);
    },
  });
  const mixed = createAuthenticatorChain([spy(notMine), spy(slowNotMine), spy(accepts), spy(slowAccepts)], { clock, challenge: 'Bearer' });
  const waited = mixed.authenticate(credentials);
  assert.ok(waited instanceof Promise);
  assert.equal((await waited).subject, 'lenient');
  assert.deepEqual(asked, ['not-mine', 'slow-not-mine', 'lenient']);

  const slowRefuses: Authenticator = {
    name: 'slow-strict',
    authenticate: async () => Promise.reject(new Unauthorized('bad_signature', 'no')),
  };
  const error = await refusal([slowNotMine, slowRefuses, accepts]);
  assert.equal(error.decidedBy, 'slow-strict');
  const expired = await refusal([slowNotMine, { name: 'old', authenticate: async () => identity('old', 1_600_000_000) }]);
  assert.equal(expired.code, 'token_expired');
});
