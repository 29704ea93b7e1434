import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';

// Issue #4: cortex-gateway's "tenant name when JWT auth is disabled", for single-tenant installs behind
// an authenticating proxy. It is never a default: it needs `[auth.fixed_tenant]` and a place in `order`,
// and it warns at start, so an accidentally open gateway shows in the logs.
const fixture = gatewayFixture({
  config: (upstream) => ({
    auth: { order: ['fixed_tenant'], fixed_tenant: { tenant: 'single-tenant', namespaces: ['team-a'] } },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream, type: 'prometheus' }] },
  }),
});

function query(headers: Record<string, string>): Promise<RawResponse> {
  return sendRaw(fixture.gateway.url, { path: `/api/v1/query?${new URLSearchParams({ query: 'up' })}`, headers });
}

test('the gateway warns at start that every request is accepted without credentials', () => {
  const warning = fixture.gateway.logs.find((line) => line.authenticator === 'fixed_tenant');
  assert.ok(warning, 'a log line names the fixed_tenant authenticator');
  assert.equal(warning.level, 'warn');
  assert.equal(warning.tenant, 'single-tenant');
  assert.match(String(warning.msg), /without credentials/);
});

test('every request gets the fixed tenant and policy, whatever credentials it carries', async () => {
  const variants: Record<string, string>[] = [
    {},
    { authorization: 'Bearer some-token-nobody-checks' },
    { authorization: `Basic ${Buffer.from('someone:something').toString('base64')}` },
    { token: 'another-token' },
  ];
  for (const headers of variants) {
    fixture.upstream.reset();
    const res = await query(headers);
    assert.equal(res.status, 200, JSON.stringify(headers));
    assert.equal(fixture.upstream.requests.length, 1);
    const request = fixture.upstream.requests[0];
    assert.equal(request?.headers['x-scope-orgid'], 'single-tenant', JSON.stringify(headers));
    assert.equal(new URL(request?.url ?? '/', 'http://upstream').searchParams.get('query'), 'up{namespace="team-a"}');
  }
});

test('a client X-Scope-OrgID other than the fixed tenant is refused', async () => {
  const res = await query({ 'x-scope-orgid': 'another-tenant' });
  assert.equal(res.status, 403);
  assert.equal(res.json().code, 'tenant_not_allowed');
  assert.equal(fixture.upstream.requests.length, 0);
});
