import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_ACCESS } from '../policy/label-policy.js';
import { Forbidden, HttpError, Unauthorized } from '../core/http-errors.js';
import type { Authenticator, Credentials, PresentedAuthenticator } from './authenticator.js';
import { createAuthenticatorChain } from './chain.js';
import { createIdentity, type Identity } from './identity.js';

// A presented identity (Grafana's X-Grafana-Id) is judged after the caller that presents it (chain.ts).

const clock = { now: () => 1_700_000_000_000 };
const identity = (subject: string, authenticator = subject) =>
  createIdentity({ subject, tenants: ['t'], policy: FULL_ACCESS, authenticator });

/** Bearer tokens `ds` and `other` are callers; basic `ds:pw` names the same caller as bearer `ds`. */
const callers: Authenticator = {
  name: 'static',
  authenticate: (c) =>
    c.bearer !== undefined ? identity(c.bearer.token, 'static') : c.basic !== undefined ? identity(c.basic.username, 'static') : undefined,
};
const anonymous: Authenticator = { name: 'fixed', anonymous: true, authenticate: () => identity('anyone', 'fixed') };
const seenCallers: Identity[] = [];
const presenter: PresentedAuthenticator = {
  name: 'grafana',
  isPresented: (c) => c.grafanaId !== undefined,
  authenticatePresented(c, caller) {
    if (caller === undefined) throw new Unauthorized('grafana_channel_missing', 'no caller');
    seenCallers.push(caller);
    if (caller.subject !== 'ds') throw new Forbidden('grafana_channel_not_allowed', 'no');
    return Promise.resolve(identity(`user-of-${c.grafanaId}`, 'grafana'));
  },
};

const chain = (authenticators: Authenticator[] = [callers, anonymous]) =>
  createAuthenticatorChain(authenticators, { clock, challenge: 'Bearer', presented: [presenter] });
const answer = (credentials: Credentials, authenticators?: Authenticator[]) =>
  Promise.resolve()
    .then(() => chain(authenticators).authenticate(credentials))
    .catch((error: unknown) => {
      assert.ok(error instanceof HttpError);
      return error;
    });
const bearer = (token: string) => ({ header: 'authorization', token });

test("the presented identity replaces its caller's, and the presenter sees the caller", async () => {
  seenCallers.length = 0;
  const result = await answer({ bearer: bearer('ds'), grafanaId: 'u7' });
  assert.equal((result as Identity).subject, 'user-of-u7');
  assert.deepEqual(
    seenCallers.map((c) => c.subject),
    ['ds'],
  );
});

test('no caller credential: grafana_channel_missing, even where an anonymous authenticator would answer', async () => {
  const result = await answer({ grafanaId: 'u7' });
  assert.ok(result instanceof HttpError);
  assert.equal(result.code, 'grafana_channel_missing');
  assert.equal(result.decidedBy, 'grafana');
});

test('a refused presented identity never falls back to the caller', async () => {
  const result = await answer({ bearer: bearer('other'), grafanaId: 'u7' });
  assert.ok(result instanceof HttpError);
  assert.equal(result.code, 'grafana_channel_not_allowed');
});

test('callers that disagree are refused before the presenter is asked', async () => {
  seenCallers.length = 0;
  const result = await answer({ bearer: bearer('ds'), basic: { username: 'other', password: 'x' }, grafanaId: 'u7' });
  assert.ok(result instanceof HttpError);
  assert.equal(result.code, 'conflicting_credentials');
  assert.equal(seenCallers.length, 0);
});

test('without the presented credential the caller is served as itself', async () => {
  assert.equal(((await answer({ bearer: bearer('ds') })) as Identity).subject, 'ds');
});

test('a caller nobody recognises is no caller', async () => {
  const result = await answer({ bearer: bearer('ds'), grafanaId: 'u7' }, [anonymous]);
  assert.ok(result instanceof HttpError);
  assert.equal(result.code, 'grafana_channel_missing');
});
