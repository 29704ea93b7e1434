import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';

// Issue #2, request path step 2: headers upstreams treat as authority are the gateway's to set, never the
// client's. Mimir and Loki enforce X-Prom-Label-Policy; Grafana-style auth proxies trust X-Forwarded-User.
const fixture = gatewayFixture({
  tokens: { 'tok-a': { tenant: 'tenant-a', namespace: 'team-a' } },
  config: (upstream) => ({
    proxy: {
      strip_headers: ['X-Internal-Role'],
      token_headers: ['authorization', 'x-forwarded-access-token', 'x-custom-token'],
      upstreams: [
        {
          name: 'custom-tenant-header',
          match: 'custom\\.example',
          upstream,
          priority: 1,
          tenant_header: 'X-Tenant-Id',
          allow_unenforced_policy: true,
        },
        {
          name: 'with-credentials',
          match: 'creds\\.example',
          upstream,
          priority: 1,
          forward_credentials: true,
          allow_unenforced_policy: true,
        },
        // The identity is limited; these raw routes let it through so the headers it forges can be inspected.
        { name: 'default', match: '.*', upstream, allow_unenforced_policy: true },
      ],
    },
  }),
});

async function forwardedHeaders(headers: Record<string, string>) {
  const res = await sendRaw(fixture.gateway.url, {
    path: '/api/v1/query?query=up',
    headers: { authorization: 'Bearer tok-a', ...headers },
  });
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(fixture.upstream.requests.length, 1);
  return { seen: fixture.upstream.requests[0]!.headers, res };
}

const FORGED_AUTHORITY = {
  'x-prom-label-policy': 'tenant-a:%7Bnamespace%3D~%22.%2A%22%7D',
  'x-forwarded-user': 'admin',
  'x-forwarded-email': 'admin@example.com',
  'x-forwarded-groups': 'admins',
  'x-forwarded-preferred-username': 'admin',
  'x-auth-request-user': 'admin',
  'x-auth-request-email': 'admin@example.com',
  'x-auth-request-groups': 'admins',
  'x-remote-user': 'admin',
  'x-webauth-user': 'admin',
  'x-internal-role': 'superuser',
};

test('client-sent label policy and forwarded-identity headers never reach the upstream', async () => {
  const { seen } = await forwardedHeaders({ ...FORGED_AUTHORITY, 'x-harmless': 'kept' });
  for (const name of Object.keys(FORGED_AUTHORITY)) assert.equal(seen[name], undefined, `${name} was forwarded`);
  assert.equal(seen['x-harmless'], 'kept', 'ordinary headers still pass');
});

test('with another tenant header configured, a client X-Scope-OrgID is dropped rather than passed through', async () => {
  const res = await sendRaw(fixture.gateway.url, {
    path: '/api/v1/query',
    headers: { host: 'custom.example', authorization: 'Bearer tok-a', 'x-scope-orgid': 'tenant-evil' },
  });
  assert.equal(res.status, 200);
  const seen = fixture.upstream.requests[0]!.headers;
  assert.equal(seen['x-scope-orgid'], undefined);
  assert.equal(seen['x-tenant-id'], 'tenant-a');
});

test('a client X-Tenant-Id naming a tenant the token does not own is refused on that upstream', async () => {
  const res = await sendRaw(fixture.gateway.url, {
    path: '/api/v1/query',
    headers: { host: 'custom.example', authorization: 'Bearer tok-a', 'x-tenant-id': 'tenant-evil' },
  });
  assert.equal(res.status, 403);
  assert.equal(fixture.upstream.requests.length, 0);
});

test('hop-by-hop headers, including those named in Connection, are dropped both ways', async () => {
  fixture.upstream.setHandler((_request, res) => {
    res.writeHead(200, { connection: 'x-upstream-hop', 'x-upstream-hop': 'secret', 'x-upstream-end': 'kept' });
    res.end('ok');
  });
  try {
    const { seen, res } = await forwardedHeaders({
      connection: 'keep-alive, X-Client-Hop',
      'x-client-hop': 'secret',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
      'proxy-connection': 'keep-alive',
    });
    for (const name of ['x-client-hop', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection']) {
      assert.equal(seen[name], undefined, `${name} was forwarded`);
    }
    assert.equal(res.headers['x-upstream-hop'], undefined, 'a response header named in Connection was forwarded');
    assert.equal(res.headers['x-upstream-end'], 'kept');
  } finally {
    fixture.upstream.setHandler((_request, res) => {
      res.end('{}');
    });
  }
});

test('X-Forwarded-For appends the peer; X-Forwarded-Proto and Host describe the real request; Forwarded and X-Real-IP are dropped', async () => {
  const { seen } = await forwardedHeaders({
    host: 'gateway.example:8000',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'forged.example',
    forwarded: 'for=198.51.100.1;proto=https',
    'x-real-ip': '198.51.100.1',
  });
  assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'gateway.example:8000');
  assert.equal(seen.forwarded, undefined);
  assert.equal(seen['x-real-ip'], undefined);
  assert.equal(seen['x-scope-orgid'], 'tenant-a');
});

test('without a client X-Forwarded-For the upstream sees the peer address alone', async () => {
  const { seen } = await forwardedHeaders({});
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-host'], new URL(fixture.gateway.url).host);
});

// Issue #10 hole 2: many servers and proxies read `_` as `-` (nginx with underscores_in_headers, CGI/WSGI's
// HTTP_X_SCOPE_ORGID, several frameworks). A client header that, read that way, names a header the gateway
// owns or strips would reach the upstream next to the gateway's own, unchecked.
test('headers the gateway owns or strips, spelled with "_" (any case), never reach the upstream', async () => {
  const forged = {
    x_scope_orgid: 'tenant-evil',
    'X_Scope-OrgID': 'tenant-evil',
    'x-scope_orgid': 'tenant-evil',
    x_tenant_id: 'tenant-evil',
    X_Prom_Label_Policy: 'tenant-a:%7B%7D',
    x_forwarded_user: 'admin',
    'X_Forwarded-Groups': 'admins',
    x_forwarded_for: '10.0.0.1',
    x_forwarded_prefix: '/admin',
    x_real_ip: '10.0.0.1',
    x_auth_request_user: 'admin',
    x_webauth_user: 'admin',
    x_forwarded_access_token: 'tok-b',
    x_custom_token: 'tok-b',
    x_id_token: 'a.b.c',
    x_internal_role: 'superuser',
    transfer_encoding: 'chunked',
    content_length: '0',
  };
  for (const host of ['default.example', 'custom.example', 'creds.example']) {
    fixture.upstream.reset();
    const res = await sendRaw(fixture.gateway.url, {
      path: '/api/v1/query?query=up',
      headers: { host, authorization: 'Bearer tok-a', ...forged, x_harmless: 'kept' },
    });
    assert.equal(res.status, 200, res.body.toString());
    const seen = fixture.upstream.requests[0]!.headers;
    const underscored = Object.keys(seen).filter((name) => name.includes('_'));
    assert.deepEqual(underscored, ['x_harmless'], `${host}: ${underscored.join(', ')}`);
    assert.equal(seen['x-scope-orgid'] ?? seen['x-tenant-id'], 'tenant-a');
  }
});
