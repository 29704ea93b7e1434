import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createOidcAuthenticator } from '../../src/identity/oidc.js';
import type { OidcOptions } from '../../src/identity/oidc.js';
import { parseAcl } from '../../src/policy/acl.js';
import { describePolicy } from '../../src/policy/label-policy.js';
import { HttpError } from '../../src/core/http-errors.js';
import { systemClock } from '../../src/core/clock.js';
import { startOidcProvider } from '../servers/oidc-provider.js';
import type { OidcTestProvider } from '../servers/oidc-provider.js';

// Against a real OpenID Provider: discovery, client-credentials JWT access tokens, roles through the ACL.
// The tokens are real, so time is the system clock here; expiry is covered with an injected clock elsewhere.
const CLIENTS = [
  { clientId: 'team-a-svc', clientSecret: 'secret-a-secret-a-secret-a', roles: ['team-a', 'unknown-role'], tenant: 'acme' },
  { clientId: 'admin-svc', clientSecret: 'secret-b-secret-b-secret-b', roles: ['admin'] },
  { clientId: 'nobody-svc', clientSecret: 'secret-c-secret-c-secret-c', roles: ['unknown-role'], tenant: 'acme' },
];
const ACL = parseAcl('team-a: "team-a, shared-.*"\nadmin: .*\n');
const CLAIMS = { tenantClaim: 'tenant_id', namespacesClaim: 'namespaces', labelsClaim: 'labels', policyLabel: 'namespace' };
const JWKS = { refreshIntervalMs: 300_000, minRefetchIntervalMs: 30_000, staleAfterMs: 600_000, fetchTimeoutMs: 5_000 };

let idp: OidcTestProvider;
before(async () => {
  idp = await startOidcProvider({ clients: CLIENTS, audience: 'scopegate' });
});
after(async () => {
  await idp.close();
});

function makeOidc(overrides: Partial<OidcOptions> = {}) {
  return createOidcAuthenticator({
    issuer: idp.issuer,
    clientId: 'scopegate',
    acl: ACL,
    claims: { ...CLAIMS, defaultTenant: 'default-tenant' },
    jwks: JWKS,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}

const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });

test('discovery finds the JWKS, and a client-credentials token with roles becomes a policy', async () => {
  const oidc = makeOidc();
  try {
    await oidc.whenStarted();
    assert.equal(oidc.readiness.notReadyReason(), undefined);
    assert.ok(idp.requests.includes('/.well-known/openid-configuration'));
    const identity = await oidc.authenticate(bearer(await idp.getClientToken('team-a-svc', 'secret-a-secret-a-secret-a')));
    assert.equal(identity?.subject, 'team-a-svc');
    assert.deepEqual(identity?.tenants, ['acme']);
    assert.equal(describePolicy(identity?.policy), 'namespace=~"team-a|shared-.*"');
    const admin = await oidc.authenticate(bearer(await idp.getClientToken('admin-svc', 'secret-b-secret-b-secret-b')));
    assert.deepEqual(admin?.tenants, ['default-tenant']);
    assert.equal(describePolicy(admin?.policy), 'full');
    const nobody = await oidc.authenticate(bearer(await idp.getClientToken('nobody-svc', 'secret-c-secret-c-secret-c')));
    assert.equal(nobody?.policy, undefined, 'no known role is no policy (implicit deny), never full access');
  } finally {
    oidc.close();
  }
});

test('assumed roles: an unknown role is itself a namespace value, merged with the ACL', async () => {
  const oidc = makeOidc({ assumeRoles: true });
  try {
    const identity = await oidc.authenticate(bearer(await idp.getClientToken('team-a-svc', 'secret-a-secret-a-secret-a')));
    assert.equal(describePolicy(identity?.policy), 'namespace=~"team-a|unknown-role|shared-.*"');
  } finally {
    oidc.close();
  }
});

test('aud must contain the client id', async () => {
  const oidc = makeOidc({ clientId: 'another-client' });
  try {
    const token = await idp.getClientToken('team-a-svc', 'secret-a-secret-a-secret-a');
    await assert.rejects(Promise.resolve(oidc.authenticate(bearer(token))), { code: 'wrong_audience' });
  } finally {
    oidc.close();
  }
});

test('a token of another issuer is not mine', async () => {
  const other = await startOidcProvider({ clients: CLIENTS, audience: 'scopegate' });
  const oidc = makeOidc();
  try {
    const token = await other.getClientToken('team-a-svc', 'secret-a-secret-a-secret-a');
    assert.equal(await oidc.authenticate(bearer(token)), undefined);
  } finally {
    oidc.close();
    await other.close();
  }
});

test('Grafana X-Id-Token is accepted only when accept_id_token_header is on', async () => {
  const token = await idp.getClientToken('team-a-svc', 'secret-a-secret-a-secret-a');
  const off = makeOidc();
  const on = makeOidc({ acceptIdTokenHeader: true });
  try {
    assert.equal(await off.authenticate({ idToken: token }), undefined);
    assert.deepEqual((await on.authenticate({ idToken: token }))?.tenants, ['acme']);
    assert.deepEqual((await on.authenticate({ bearer: { header: 'authorization', token: 'static-x' }, idToken: token }))?.tenants, [
      'acme',
    ]);
  } finally {
    off.close();
    on.close();
  }
});

test('an unreachable issuer: not ready with the reason, and its tokens get 503, not a false 401', async () => {
  const token = await idp.getClientToken('team-a-svc', 'secret-a-secret-a-secret-a');
  const deadIssuer = 'http://127.0.0.1:9';
  const oidc = makeOidc({ issuer: deadIssuer });
  try {
    await oidc.whenStarted();
    assert.match(oidc.readiness.notReadyReason() ?? '', /OIDC discovery failed/);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const relabelled = `${h}.${Buffer.from(JSON.stringify({ ...claims, iss: deadIssuer })).toString('base64url')}.${s}`;
    await assert.rejects(
      Promise.resolve(oidc.authenticate(bearer(relabelled))),
      (error: unknown) => error instanceof HttpError && error.status === 503,
    );
  } finally {
    oidc.close();
  }
});
