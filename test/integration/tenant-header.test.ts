import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';

// Issue #2, request path step 3: the tenant header comes from the token; a client value is kept only when
// the token owns every tenant in it. Step 1: where the token is found, and that it never reaches the upstream.
const fixture = gatewayFixture({
  tokens: {
    'tok-a': 'tenant-a',
    'tok-ab': { tenants: ['tenant-a', 'tenant-b'], name: 'two-tenants' },
  },
  config: (upstream) => ({
    proxy: {
      upstreams: [
        { name: 'federating', match: 'fed\\.example', upstream, priority: 10, allow_federation: true },
        { name: 'with-creds', match: 'creds\\.example', upstream, priority: 10, forward_credentials: true },
        { name: 'default', match: '.*', upstream },
      ],
    },
  }),
});

function get(headers: Record<string, string | string[]>, method = 'GET'): Promise<RawResponse> {
  return sendRaw(fixture.gateway.url, { method, path: '/api/v1/labels', headers });
}

/** The request was refused with this status and code, as JSON, and the upstream never saw it. */
function assertRefused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.json().code, code);
  assert.equal(fixture.upstream.requests.length, 0, 'a refused request must not reach the upstream');
}

function tenantSeenUpstream(): string | string[] | undefined {
  assert.equal(fixture.upstream.requests.length, 1);
  return fixture.upstream.requests[0]?.headers['x-scope-orgid'];
}

test('the tenant header is set from the token', async () => {
  const res = await get({ authorization: 'Bearer tok-a' });
  assert.equal(res.status, 200);
  assert.equal(tenantSeenUpstream(), 'tenant-a');
});

test('a client X-Scope-OrgID the token does not own is refused with 403 before reaching the upstream', async () => {
  assertRefused(await get({ authorization: 'Bearer tok-a', 'x-scope-orgid': 'tenant-b' }), 403, 'tenant_not_allowed');
  assertRefused(await get({ authorization: 'Bearer tok-a', 'x-scope-orgid': 'tenant-a|tenant-b' }), 403, 'tenant_not_allowed');
});

test('a client X-Scope-OrgID naming an owned tenant is kept', async () => {
  const res = await get({ authorization: 'Bearer tok-ab', 'x-scope-orgid': 'tenant-b' });
  assert.equal(res.status, 200);
  assert.equal(tenantSeenUpstream(), 'tenant-b');
});

test('a token with several tenants must choose one (400) unless the upstream federates reads', async () => {
  assertRefused(await get({ authorization: 'Bearer tok-ab' }), 400, 'tenant_required');
  const res = await get({ authorization: 'Bearer tok-ab', host: 'fed.example' });
  assert.equal(res.status, 200);
  assert.equal(tenantSeenUpstream(), 'tenant-a|tenant-b');
});

test('a|b is refused where federation is off, forwarded for reads where it is on, and never on writes', async () => {
  const both = { authorization: 'Bearer tok-ab', 'x-scope-orgid': 'tenant-a|tenant-b' };
  assertRefused(await get(both), 403, 'tenant_federation_not_allowed');
  assertRefused(await get({ ...both, host: 'fed.example' }, 'POST'), 400, 'write_needs_one_tenant');
  const res = await get({ ...both, host: 'fed.example' });
  assert.equal(res.status, 200);
  assert.equal(tenantSeenUpstream(), 'tenant-a|tenant-b');
});

test('a repeated X-Scope-OrgID header is refused with 400, even when each value is owned', async () => {
  assertRefused(await get({ authorization: 'Bearer tok-ab', 'x-scope-orgid': ['tenant-a', 'tenant-b'] }), 400, 'tenant_header_repeated');
});

test('the token is accepted from X-Forwarded-Access-Token, X-Auth-Request-Access-Token and Token', async () => {
  for (const header of ['x-forwarded-access-token', 'x-auth-request-access-token', 'token']) {
    fixture.upstream.reset();
    const res = await get({ [header]: 'tok-a' });
    assert.equal(res.status, 200, header);
    assert.equal(tenantSeenUpstream(), 'tenant-a', header);
    assert.equal(fixture.upstream.requests[0]?.headers[header], undefined, `${header} must not be forwarded`);
  }
});

test('two token headers that disagree are refused with 401, whichever is valid', async () => {
  const res = await get({ authorization: 'Bearer tok-a', 'x-forwarded-access-token': 'tok-ab' });
  assertRefused(res, 401, 'conflicting_credentials');
  assert.match(String(res.headers['www-authenticate']), /^Bearer/);
  // Agreeing headers are fine.
  assert.equal((await get({ authorization: 'Bearer tok-a', token: 'tok-a' })).status, 200);
});

test('a missing or unknown token is refused with 401, a Bearer challenge and a JSON error', async () => {
  const missing = await get({});
  assertRefused(missing, 401, 'missing_credentials');
  assert.match(String(missing.headers['www-authenticate']), /^Bearer realm="scopegate"/);
  const unknown = await get({ authorization: 'Bearer not-a-token' });
  assertRefused(unknown, 401, 'invalid_token');
  assert.match(String(unknown.headers['www-authenticate']), /error="invalid_token"/);
  assert.doesNotMatch(unknown.body.toString(), /not-a-token/);
});

test('credentials are stripped before the upstream unless the upstream sets forward_credentials', async () => {
  assert.equal((await get({ authorization: 'Bearer tok-a' })).status, 200);
  assert.equal(fixture.upstream.requests[0]?.headers.authorization, undefined);
  fixture.upstream.reset();
  assert.equal((await get({ authorization: 'Bearer tok-a', host: 'creds.example' })).status, 200);
  assert.equal(fixture.upstream.requests[0]?.headers.authorization, 'Bearer tok-a');
  assert.equal(fixture.upstream.requests[0]?.headers['x-scope-orgid'], 'tenant-a');
});
