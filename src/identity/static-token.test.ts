import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type HttpError, ServiceUnavailable, Unauthorized } from '../core/http-errors.js';
import { parseTokenSet, type TokenSet } from './token-set.js';
import { createStaticTokenAuthenticator } from './static-token.js';

const set = parseTokenSet({ 'good-token': { tenant: 'tenant-a', namespace: 'team-a' } }, { authenticator: 'static-token' });
const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });
const jwtShaped = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

test('a known bearer token yields its identity', async () => {
  const auth = createStaticTokenAuthenticator({ tokens: () => set });
  const identity = await auth.authenticate(bearer('good-token'));
  assert.deepEqual(identity?.tenants, ['tenant-a']);
  assert.equal(identity?.authenticator, 'static-token');
});

test('no bearer is not mine', async () => {
  const auth = createStaticTokenAuthenticator({ tokens: () => set });
  assert.equal(await auth.authenticate({}), undefined);
  assert.equal(await auth.authenticate({ basic: { username: 'u', password: 'good-token' } }), undefined);
});

test('an unknown token is refused with invalid_token, without echoing it', () => {
  const auth = createStaticTokenAuthenticator({ tokens: () => set });
  for (const token of ['bad-token', 'good-toke', jwtShaped]) {
    assert.throws(
      () => auth.authenticate(bearer(token)),
      (error: unknown) => error instanceof Unauthorized && error.code === 'invalid_token' && !error.message.includes(token),
    );
  }
});

test('with passThroughJwt, only an unknown JWT-shaped token falls through', async () => {
  const jwtSet = parseTokenSet({ [jwtShaped]: 'tenant-j' }, { authenticator: 'static-token' });
  const auth = createStaticTokenAuthenticator({ tokens: () => set, passThroughJwt: true });
  assert.equal(auth.authenticate(bearer(jwtShaped)), undefined);
  assert.throws(() => auth.authenticate(bearer('a.b')), Unauthorized);
  assert.throws(() => auth.authenticate(bearer('a.b.c.d')), Unauthorized);
  const withJwt = createStaticTokenAuthenticator({ tokens: () => jwtSet, passThroughJwt: true });
  assert.deepEqual((await withJwt.authenticate(bearer(jwtShaped)))?.tenants, ['tenant-j']);
});

test('before the set ever loaded, a bearer gets 503, not a misleading 401', () => {
  const auth = createStaticTokenAuthenticator({ tokens: (): TokenSet | undefined => undefined });
  assert.throws(
    () => auth.authenticate(bearer('good-token')),
    (error: unknown) => error instanceof ServiceUnavailable && (error as HttpError).code === 'token_set_unavailable',
  );
});
