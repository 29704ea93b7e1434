import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthFiles, type AuthFiles } from '../servers/auth-files.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startOidcProvider, type OidcTestProvider } from '../servers/oidc-provider.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';

// Issue #4: Grafana alerting and recording rules evaluate without a user, so there is no user token to
// forward (peers answer 401 and the rule shows NoData). Two ways in: a service identity (a static token
// bound to one tenant and policy, set on the data source), and Grafana's forwarded `X-Id-Token`, which the
// OIDC provider accepts only when `accept_id_token_header = true`. Two gateways, identical but for that key.
const SERVICE_TOKEN = 'grafana-ruler-service-token';
const USER_CLIENT = {
  clientId: 'grafana-user',
  clientSecret: 'user-secret-user-secret-user-secret',
  roles: ['team-b-viewer'],
  tenant: 'tenant-b',
};

let upstream: RecordingUpstream;
let idp: OidcTestProvider;
let files: AuthFiles;
let accepting: StartedGateway;
let ignoring: StartedGateway;
let idToken: string;

function gatewayConfig(acceptIdTokenHeader: boolean): Record<string, unknown> {
  return {
    backend_type: 'file',
    file: { path: files.tokensPath },
    auth: {
      order: ['static', 'oidc'],
      oidc: { issuer: idp.issuer, client_id: 'scopegate', accept_id_token_header: acceptIdTokenHeader },
    },
    acl: { file: files.aclPath },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream: upstream.url, type: 'prometheus' }] },
  };
}

before(async () => {
  [upstream, idp] = await Promise.all([startRecordingUpstream(), startOidcProvider({ clients: [USER_CLIENT], audience: 'scopegate' })]);
  files = await createAuthFiles({
    tokens: { [SERVICE_TOKEN]: { name: 'grafana-ruler', tenant: 'tenant-a', namespaces: ['team-a'], scopes: ['read'] } },
    acl: { 'team-b-viewer': 'team-b' },
  });
  [accepting, ignoring] = await Promise.all([startTestGateway(gatewayConfig(true)), startTestGateway(gatewayConfig(false))]);
  idToken = await idp.getClientToken(USER_CLIENT.clientId, USER_CLIENT.clientSecret);
});

after(async () => {
  await Promise.all([accepting?.stop(), ignoring?.stop()]);
  await Promise.all([upstream?.stop(), idp?.close(), files?.remove()]);
});

beforeEach(() => upstream.reset());

function query(gateway: StartedGateway, headers: Record<string, string>): Promise<RawResponse> {
  return sendRaw(gateway.url, { path: `/api/v1/query?${new URLSearchParams({ query: 'up' })}`, headers });
}

/** Tenant header and PromQL of the one request the upstream received. */
function received(): { tenant: unknown; query: string | null; idToken: unknown } {
  assert.equal(upstream.requests.length, 1);
  const request = upstream.requests[0];
  const url = new URL(request?.url ?? '/', 'http://upstream');
  return { tenant: request?.headers['x-scope-orgid'], query: url.searchParams.get('query'), idToken: request?.headers['x-id-token'] };
}

test("the ruler's service token works without any user token, bound to its tenant and policy", async () => {
  const res = await query(ignoring, { authorization: `Bearer ${SERVICE_TOKEN}` });
  assert.equal(res.status, 200, res.body.toString());
  assert.deepEqual(received(), { tenant: 'tenant-a', query: 'up{namespace="team-a"}', idToken: undefined });
});

test('the service identity cannot pick another tenant', async () => {
  const res = await query(ignoring, { authorization: `Bearer ${SERVICE_TOKEN}`, 'x-scope-orgid': 'tenant-b' });
  assert.equal(res.status, 403);
  assert.equal(res.json().code, 'tenant_not_allowed');
  assert.equal(upstream.requests.length, 0);
});

test("Grafana's X-Id-Token is accepted with accept_id_token_header = true, and not forwarded", async () => {
  const res = await query(accepting, { 'x-id-token': idToken });
  assert.equal(res.status, 200, res.body.toString());
  assert.deepEqual(received(), { tenant: 'tenant-b', query: 'up{namespace="team-b"}', idToken: undefined });
});

test('X-Id-Token is ignored without accept_id_token_header: 401, nothing sent upstream', async () => {
  const res = await query(ignoring, { 'x-id-token': idToken });
  assert.equal(res.status, 401);
  assert.equal(res.json().code, 'invalid_credentials');
  assert.ok(!res.body.toString().includes(idToken));
  assert.equal(upstream.requests.length, 0);
});

test("the service token with a user's X-Id-Token: 401 conflicting_credentials where X-Id-Token is accepted, the service where not", async () => {
  // Accepted, X-Id-Token is a credential (user of tenant-b) disagreeing with the service token (tenant-a).
  const conflicting = await query(accepting, { authorization: `Bearer ${SERVICE_TOKEN}`, 'x-id-token': idToken });
  assert.equal(conflicting.status, 401, conflicting.body.toString());
  assert.equal(conflicting.json().code, 'conflicting_credentials');
  assert.equal(upstream.requests.length, 0);
  // Not accepted, it is no credential of the gateway's: the service identity is served, the header dropped.
  const service = await query(ignoring, { authorization: `Bearer ${SERVICE_TOKEN}`, 'x-id-token': idToken });
  assert.equal(service.status, 200, service.body.toString());
  assert.deepEqual(received(), { tenant: 'tenant-a', query: 'up{namespace="team-a"}', idToken: undefined });
});
