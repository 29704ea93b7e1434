import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';

// Issue #4: cortex-gateway's "tenant name when JWT auth is disabled", for single-tenant installs behind
// an authenticating proxy. It is never a default: it needs `[auth.fixed_tenant]` and a place in `order`,
// and it warns at start, so an accidentally open gateway shows in the logs.
let upstream: RecordingUpstream;
let gateway: StartedGateway;

before(async () => {
  upstream = await startRecordingUpstream();
  gateway = await startTestGateway({
    auth: { order: ['fixed_tenant'], fixed_tenant: { tenant: 'single-tenant', namespaces: ['team-a'] } },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream: upstream.url, type: 'prometheus' }] },
  });
});

after(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

beforeEach(() => upstream.reset());

function query(headers: Record<string, string>): Promise<RawResponse> {
  return sendRaw(gateway.url, { path: `/api/v1/query?${new URLSearchParams({ query: 'up' })}`, headers });
}

test('the gateway warns at start that every request is accepted without credentials', () => {
  const warning = gateway.logs.find((line) => line.authenticator === 'fixed_tenant');
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
    upstream.reset();
    const res = await query(headers);
    assert.equal(res.status, 200, JSON.stringify(headers));
    assert.equal(upstream.requests.length, 1);
    const request = upstream.requests[0];
    assert.equal(request?.headers['x-scope-orgid'], 'single-tenant', JSON.stringify(headers));
    assert.equal(new URL(request?.url ?? '/', 'http://upstream').searchParams.get('query'), 'up{namespace="team-a"}');
  }
});

test('a client X-Scope-OrgID other than the fixed tenant is refused', async () => {
  const res = await query({ 'x-scope-orgid': 'another-tenant' });
  assert.equal(res.status, 403);
  assert.equal(res.json().code, 'tenant_not_allowed');
  assert.equal(upstream.requests.length, 0);
});
