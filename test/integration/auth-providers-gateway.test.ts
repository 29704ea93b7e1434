import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { createAuthFiles, type AuthFiles } from '../servers/auth-files.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { createTestKey, startJwksServer, type JwksServer, type TestKey } from '../servers/jwks-server.js';
import { startOidcProvider, type OidcTestProvider } from '../servers/oidc-provider.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';

// Issue #4 through the gateway: five identity providers side by side, in front of a real Prometheus
// (`type = "prometheus"`, so each identity's policy is enforced in the query) and a recording upstream on
// another Host (to see the X-Scope-OrgID each identity resolves to). The chain order is static, basic,
// hmac_jwt, jwks, oidc; every JWT provider has its own issuer, so a token belongs to exactly one of them.
const HMAC_ISSUER = 'https://cortex-gateway.test';
const HMAC_SECRET = 'hmac-secret-of-at-least-32-bytes-for-hs256';
const JWKS_ISSUER = 'https://jwks-idp.test';
const AUDIENCE = 'scopegate';
const RECORDING_HOST = 'recording.example';
const OPS_CLIENT = { clientId: 'ops-svc', clientSecret: 'ops-secret-ops-secret-ops-secret', roles: ['ops'], tenant: 'tenant-oidc' };

let prometheus: PrometheusServer;
let jwksServer: JwksServer;
let jwksKey: TestKey;
let strangerKey: TestKey;
let idp: OidcTestProvider;
let files: AuthFiles;
let oidcToken: string;

const fixture = gatewayFixture({
  before: async (cleanup) => {
    [prometheus, jwksKey, strangerKey, idp] = await Promise.all([
      startPrometheus(),
      createTestKey('jwks-1'),
      createTestKey('stranger'),
      startOidcProvider({ clients: [OPS_CLIENT], audience: AUDIENCE }),
    ]);
    cleanup.after(() => prometheus.stop());
    cleanup.after(() => idp.close());
    jwksServer = await startJwksServer([jwksKey]);
    cleanup.after(() => jwksServer.close());
    files = await createAuthFiles({
      tokens: { 'tok-static': { name: 'static-svc', tenant: 'tenant-static', namespaces: ['team-a'] } },
      users: [{ username: 'alice', password: 'alice-password', tenant: 'tenant-basic', namespaces: ['team-b'] }],
      acl: { ops: 'team-b, team-c' },
    });
    cleanup.after(() => files.remove());
    oidcToken = await idp.getClientToken(OPS_CLIENT.clientId, OPS_CLIENT.clientSecret);
  },
  config: (recording) => ({
    backend_type: 'file',
    file: { path: files.tokensPath },
    auth: {
      order: ['static', 'basic', 'hmac_jwt', 'jwks', 'oidc'],
      basic: { users_file: files.usersPath, watch: false },
      hmac_jwt: { secret: HMAC_SECRET, issuer: HMAC_ISSUER },
      jwks: { url: jwksServer.url, issuer: JWKS_ISSUER, audience: [AUDIENCE], roles_claim: 'realm_access.roles' },
      oidc: { issuer: idp.issuer, client_id: AUDIENCE },
    },
    acl: { file: files.aclPath },
    proxy: {
      upstreams: [
        { name: 'recording', match: 'recording\\.example', upstream: recording, type: 'prometheus', priority: 10 },
        { name: 'prometheus', match: '.*', upstream: prometheus.url, type: 'prometheus' },
      ],
    },
  }),
});

const nowS = () => Math.floor(Date.now() / 1000);

function signHmac(claims: Record<string, unknown>, secret = HMAC_SECRET): Promise<string> {
  return new SignJWT({ iss: HMAC_ISSUER, tenant_id: 'tenant-hmac', namespaces: ['team-c'], exp: nowS() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

function signJwks(claims: Record<string, unknown>, key: TestKey = jwksKey): Promise<string> {
  return new SignJWT({
    iss: JWKS_ISSUER,
    aud: AUDIENCE,
    tenant_id: 'tenant-jwks',
    namespaces: ['team-a', 'team-b'],
    exp: nowS() + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function query(headers: Record<string, string>, host?: string): Promise<RawResponse> {
  const params = new URLSearchParams({ query: 'sum by (namespace) (http_requests_total)', time: String(prometheus.sampleTime) });
  return sendRaw(fixture.gateway.url, { path: `/api/v1/query?${params}`, headers: { ...headers, ...(host ? { host } : {}) } });
}

interface VectorBody {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

function byNamespace(res: RawResponse): Record<string, string> {
  assert.equal(res.status, 200, res.body.toString());
  return Object.fromEntries(res.json<VectorBody>().data.result.map((r) => [r.metric.namespace ?? '', r.value[1]]));
}

/** The only request the recording upstream received, and its tenant header. */
function recordedTenant(): string | string[] | undefined {
  assert.equal(fixture.upstream.requests.length, 1);
  return fixture.upstream.requests[0]?.headers['x-scope-orgid'];
}

/** 401 with the code, a challenge, nothing secret in the body, and nothing sent upstream. */
function assertUnauthorized(res: RawResponse, code: string, secrets: readonly string[]): void {
  assert.equal(res.status, 401, res.body.toString());
  assert.equal(res.json().code, code);
  assert.ok(res.headers['www-authenticate'], 'a 401 carries WWW-Authenticate');
  for (const secret of secrets) assert.ok(!res.body.toString().includes(secret), `the 401 body must not echo ${code}'s credential`);
  assert.equal(fixture.upstream.requests.length, 0, 'a refused request must not reach the upstream');
}

// Expected sums at sampleTime (test/servers/sample-series.ts): team-a 150, team-b 200, team-c 300.
const CALLERS: readonly { name: string; tenant: string; want: Record<string, string>; headers: () => Promise<Record<string, string>> }[] = [
  {
    name: 'static token',
    tenant: 'tenant-static',
    want: { 'team-a': '150' },
    headers: async () => ({ authorization: 'Bearer tok-static' }),
  },
  {
    name: 'basic-auth user (bcrypt)',
    tenant: 'tenant-basic',
    want: { 'team-b': '200' },
    headers: async () => ({ authorization: basic('alice', 'alice-password') }),
  },
  {
    name: 'HMAC JWT (tenant_id + namespaces claims)',
    tenant: 'tenant-hmac',
    want: { 'team-c': '300' },
    headers: async () => ({ authorization: `Bearer ${await signHmac({})}` }),
  },
  {
    name: 'JWKS JWT',
    tenant: 'tenant-jwks',
    want: { 'team-a': '150', 'team-b': '200' },
    headers: async () => ({ authorization: `Bearer ${await signJwks({})}` }),
  },
  // The same ACL as OIDC's, opted into with roles_claim: roles (here Keycloak's path) merge with the claims.
  {
    name: 'JWKS JWT with roles (roles → ACL)',
    tenant: 'tenant-jwks',
    want: { 'team-b': '200', 'team-c': '300' },
    headers: async () => ({ authorization: `Bearer ${await signJwks({ namespaces: undefined, realm_access: { roles: ['ops'] } })}` }),
  },
  {
    name: 'OIDC client-credentials token (roles → ACL)',
    tenant: 'tenant-oidc',
    want: { 'team-b': '200', 'team-c': '300' },
    headers: async () => ({ authorization: `Bearer ${oidcToken}` }),
  },
];

for (const caller of CALLERS) {
  test(`${caller.name}: resolves to its tenant and sees only its namespaces' series`, async () => {
    const headers = await caller.headers();
    assert.deepEqual(byNamespace(await query(headers)), caller.want);
    assert.equal((await query(headers, RECORDING_HOST)).status, 200);
    assert.equal(recordedTenant(), caller.tenant);
  });
}

test('the token is accepted from X-Forwarded-Access-Token, X-Auth-Request-Access-Token and Token, and not forwarded', async () => {
  const tokens = { hmac: await signHmac({}), oidc: oidcToken };
  for (const header of ['x-forwarded-access-token', 'x-auth-request-access-token', 'token']) {
    assert.deepEqual(byNamespace(await query({ [header]: tokens.hmac })), { 'team-c': '300' }, header);
    fixture.upstream.reset();
    assert.equal((await query({ [header]: tokens.oidc }, RECORDING_HOST)).status, 200, header);
    assert.equal(recordedTenant(), 'tenant-oidc', header);
    assert.equal(fixture.upstream.requests[0]?.headers[header], undefined, `${header} must not be forwarded`);
  }
});

test('two token headers that disagree are 401, even when each token is valid', async () => {
  const hmac = await signHmac({});
  const jwks = await signJwks({});
  const res = await query({ authorization: `Bearer ${hmac}`, 'x-forwarded-access-token': jwks }, RECORDING_HOST);
  assertUnauthorized(res, 'conflicting_credentials', [hmac, jwks]);
});

test('401 bodies name the problem and never contain the credential', async () => {
  const cases: { name: string; code: string; credential: () => Promise<string>; scheme?: 'basic' }[] = [
    { name: 'expired HMAC JWT', code: 'token_expired', credential: () => signHmac({ exp: nowS() - 3600 }) },
    {
      name: 'HMAC JWT signed with another secret',
      code: 'bad_signature',
      credential: () => signHmac({}, 'another-secret-of-at-least-32-bytes-long'),
    },
    { name: 'JWKS JWT signed by a key the JWKS does not hold', code: 'unknown_key', credential: () => signJwks({}, strangerKey) },
    { name: 'JWKS JWT for another audience', code: 'wrong_audience', credential: () => signJwks({ aud: 'another-service' }) },
    { name: 'basic auth, wrong password', code: 'invalid_credentials', scheme: 'basic', credential: async () => 'not-alice-password' },
  ];
  for (const c of cases) {
    fixture.upstream.reset();
    const credential = await c.credential();
    const authorization = c.scheme === 'basic' ? basic('alice', credential) : `Bearer ${credential}`;
    const res = await query({ authorization }, RECORDING_HOST);
    assertUnauthorized(res, c.code, [credential, authorization]);
    assert.equal(res.json().errorType, 'unauthorized', `${c.name}: Prometheus API paths answer in Prometheus' shape`);
  }
  const codes = new Set(fixture.gateway.logs.map((line) => line.code));
  for (const c of cases) assert.ok(codes.has(c.code), `the access log carries ${c.code}`);
});

test('an unknown user and a wrong password get the very same answer (no user enumeration)', async () => {
  const unknown = await query({ authorization: basic('mallory', 'alice-password') }, RECORDING_HOST);
  const wrong = await query({ authorization: basic('alice', 'wrong') }, RECORDING_HOST);
  assertUnauthorized(unknown, 'invalid_credentials', ['mallory', 'alice-password']);
  assertUnauthorized(wrong, 'invalid_credentials', ['wrong']);
  assert.equal(unknown.json().error, wrong.json().error);
});

test('WWW-Authenticate offers Basic as well as Bearer, because basic auth is configured', async () => {
  const missing = await query({}, RECORDING_HOST);
  assertUnauthorized(missing, 'missing_credentials', []);
  assert.match(String(missing.headers['www-authenticate']), /Bearer realm="scopegate"/);
  assert.match(String(missing.headers['www-authenticate']), /Basic realm="scopegate"/);
  const badPassword = await query({ authorization: basic('alice', 'wrong') }, RECORDING_HOST);
  assert.match(String(badPassword.headers['www-authenticate']), /^Basic realm="scopegate"/);
});

test('a recognised but invalid credential never falls through to a later provider', async () => {
  // Basic comes before hmac_jwt: a wrong password is the answer, though the Token header holds a valid JWT.
  const validJwt = await signHmac({});
  assertUnauthorized(await query({ authorization: basic('alice', 'wrong'), token: validJwt }, RECORDING_HOST), 'invalid_credentials', [
    validJwt,
  ]);
  // A token naming the HMAC issuer is hmac_jwt's to judge: signed with the JWKS key it is refused there,
  // never handed to the jwks provider that holds the key.
  const crossSigned = await signJwks({ iss: HMAC_ISSUER });
  assertUnauthorized(await query({ authorization: `Bearer ${crossSigned}` }, RECORDING_HOST), 'algorithm_not_allowed', [crossSigned]);
  // A token of the OIDC issuer signed by a key only the jwks provider knows: the OIDC provider decides.
  const wrongIdpKey = await signJwks({ iss: idp.issuer });
  assertUnauthorized(await query({ authorization: `Bearer ${wrongIdpKey}` }, RECORDING_HOST), 'unknown_key', [wrongIdpKey]);
});

test('a JWT of an issuer nobody owns is refused as invalid_credentials', async () => {
  const foreign = await signJwks({ iss: 'https://elsewhere.test' });
  assertUnauthorized(await query({ authorization: `Bearer ${foreign}` }, RECORDING_HOST), 'invalid_credentials', [foreign]);
});

test('/metrics reports the signing keys of the jwks and oidc providers (refreshes by result, age)', async () => {
  const text = await (await fetch(`${fixture.gateway.adminUrl}/metrics`)).text();
  for (const source of ['jwks', 'oidc']) {
    assert.match(text, new RegExp(`scopegate_signing_keys_refresh_total\\{source="${source}",result="success"\\} [1-9]`), source);
    assert.match(text, new RegExp(`scopegate_signing_keys_age_seconds\\{source="${source}"\\} \\d`), source);
  }
});
