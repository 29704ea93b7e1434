import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '../servers/http-client.js';
import { createAuthFiles } from '../servers/auth-files.js';
import { sendRaw } from '../servers/http-client.js';
import { GRAFANA_DS_TOKEN, startGrafanaGateway, type GrafanaGateway } from '../servers/grafana-gateway.js';

// Issue #20: Grafana users, not data sources. One shared data source per backend; Grafana signs the user
// (X-Grafana-Id), the data source's own credential presents it, the user's teams decide tenants and policy.

function sentQuery(g: GrafanaGateway): string {
  assert.equal(g.upstream.requests.length, 1, 'exactly one request reached the upstream');
  return new URL(g.upstream.requests[0]?.url ?? '', 'http://x').searchParams.get('query') ?? '';
}

function assertRefused(g: GrafanaGateway, res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(res.json().code, code);
  assert.equal(g.upstream.requests.length, 0, 'a refused request must not reach the upstream');
}

test("a user in one team reads with its team's tenant and policy; the token is not forwarded", async (t) => {
  const g = await startGrafanaGateway(t);
  const res = await g.asUser(await g.sign({ claims: { sub: 'user:8' } }));
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(sentQuery(g), 'up{namespace="team-b"}');
  const headers = g.upstream.requests[0]?.headers ?? {};
  assert.equal(headers['x-scope-orgid'], 'tenant-a');
  assert.equal(headers['x-grafana-id'], undefined);
  assert.equal(headers.authorization, undefined);
});

test('a user in two teams gets the union of their policies', async (t) => {
  const g = await startGrafanaGateway(t);
  const res = await g.asUser(await g.sign({ claims: { sub: 'user:7' } }));
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(sentQuery(g), 'up{namespace=~"team-a|team-b"}');
});

test('the access log carries the Grafana user, org and teams', async (t) => {
  const g = await startGrafanaGateway(t);
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:7' } }))).status, 200);
  const line = g.gateway.logs.find((l) => l.msg === 'request' && l.status === 200);
  assert.equal(line?.subject, 'grafana:user:7');
  assert.equal(line?.authenticator, 'grafana');
  assert.equal(line?.grafanaUser, 'user:7 (login-user:7)');
  assert.equal(line?.grafanaOrg, 1);
  assert.deepEqual(line?.grafanaTeams, ['alpha', 'beta']);
});

test('deny by default: no mapped team, a team without a policy, another org', async (t) => {
  const g = await startGrafanaGateway(t);
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:10' } })), 403, 'grafana_no_team');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:11' } })), 403, 'grafana_no_team');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:9' } })), 403, 'grafana_team_without_policy');
  assertRefused(g, await g.asUser(await g.sign({ claims: { aud: 'org:2' } })), 403, 'grafana_wrong_org');
  const denial = g.gateway.logs.find((l) => l.msg === 'request' && l.code === 'grafana_no_team');
  assert.equal(denial?.authenticator, 'grafana');
  assert.equal(denial?.subject, 'grafana:user:10');
});

test("the data source's credential alone (alerting: no X-Grafana-Id) gets its own policy only", async (t) => {
  const g = await startGrafanaGateway(t);
  const res = await g.query({
    authorization: `Bearer ${GRAFANA_DS_TOKEN}`,
    'x-rule-uid': 'abc',
    'x-grafana-org-id': '1',
    fromalert: 'true',
  });
  assert.equal(res.status, 200);
  assert.equal(sentQuery(g), 'up{namespace="alerting"}');
});

test('teams are found through every page of the search, and by uid where search gives id 0', async (t) => {
  const teams = Array.from({ length: 7 }, (_, i) => ({ id: 100 + i, uid: `uid-p${i}`, name: `page-team-${i}`, members: [] as number[] }));
  teams.push({ id: 1, uid: 'uid-alpha', name: 'alpha', members: [7] }, { id: 2, uid: 'uid-beta', name: 'beta', members: [8] });
  const g = await startGrafanaGateway(t, { teams, grafana: { teams_page_size: 2 } });
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8' } }))).status, 200);
  assert.ok((g.grafana.requests.get('/api/teams/search') ?? 0) >= 5, 'all five pages were read');
  g.upstream.reset();
  g.grafana.uidOnly = true;
  g.grafana.teams[8]?.members.push(7);
  await g.eventually(async () => {
    g.upstream.reset();
    return (
      (await g.asUser(await g.sign({ claims: { sub: 'user:7' } }))).status === 200 && sentQuery(g) === 'up{namespace=~"team-a|team-b"}'
    );
  });
  assert.ok((g.grafana.requests.get('/api/teams/uid-beta/members') ?? 0) > 0, 'members were read by uid');
});

test('a user removed from a team loses its access within the refresh interval', async (t) => {
  const g = await startGrafanaGateway(t);
  const token = await g.sign({ claims: { sub: 'user:8' } });
  assert.equal((await g.asUser(token)).status, 200);
  const beta = g.grafana.teams.find((team) => team.name === 'beta');
  if (beta) beta.members = [7];
  const removedAt = Date.now();
  await g.eventually(async () => (await g.asUser(token)).status === 403);
  assert.ok(Date.now() - removedAt < 2_000, 'gone within a few refresh intervals (200 ms)');
  g.upstream.reset();
  assertRefused(g, await g.asUser(token), 403, 'grafana_no_team');
});

test('members listed empty without org.users:read fail the refresh loudly; the last map is kept', async (t) => {
  const g = await startGrafanaGateway(t);
  const token = await g.sign({ claims: { sub: 'user:8' } });
  g.grafana.usersRead = false;
  const failures = async () => {
    const metrics = await (await fetch(`${g.gateway.adminUrl}/metrics`)).text();
    return Number(/scopegate_grafana_teams_refresh_total\{result="failure"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  };
  await g.eventually(async () => (await failures()) > 0);
  assert.ok(g.gateway.logs.some((l) => String(l.err ?? '').includes('org.users:read')));
  assert.equal((await g.asUser(token)).status, 200, 'not read as "nobody in beta"');
});

test('Grafana unreachable: the last map is served for the grace period, then 503; back again, served', async (t) => {
  const g = await startGrafanaGateway(t, { grafana: { teams_grace_period: '30s' } });
  g.grafana.down();
  g.clock.advance(20_000);
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8' } }))).status, 200, 'within the grace period');
  g.clock.advance(20_000);
  g.upstream.reset();
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8' } })), 503, 'grafana_teams_stale');
  const ready = await fetch(`${g.gateway.adminUrl}/ready`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /team map is stale/);
  g.grafana.up();
  await g.eventually(async () => (await g.asUser(await g.sign({ claims: { sub: 'user:8' } }))).status === 200);
  assert.equal((await fetch(`${g.gateway.adminUrl}/ready`)).status, 200);
});

test('/ready and /metrics show key and team-map freshness', async (t) => {
  const g = await startGrafanaGateway(t);
  assert.equal((await fetch(`${g.gateway.adminUrl}/ready`)).status, 200);
  g.clock.advance(5_000);
  const metrics = await (await fetch(`${g.gateway.adminUrl}/metrics`)).text();
  assert.match(metrics, /scopegate_signing_keys_age_seconds\{source="grafana"\} 5/);
  assert.match(metrics, /scopegate_grafana_teams_age_seconds \d/);
  assert.match(metrics, /scopegate_grafana_teams_users 3/);
});

test('a gateway whose Grafana is down at start is not ready and answers 503', async (t) => {
  const g = await startGrafanaGateway(t, { grafana: { api_token: 'not-the-token' } });
  const ready = await fetch(`${g.gateway.adminUrl}/ready`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /answered 401/);
  assertRefused(g, await g.asUser(await g.sign()), 503, 'grafana_teams_unavailable');
});

test('Grafana under a sub-path: issuer and keys below root_url', async (t) => {
  const g = await startGrafanaGateway(t, { subPath: '/grafana/' });
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8' } }))).status, 200);
  assert.ok((g.grafana.requests.get('/grafana/api/signing-keys/keys') ?? 0) > 0);
});

test('a service account is served only where configured', async (t) => {
  const g = await startGrafanaGateway(t, {
    grafana: { service_accounts: [{ id: 3, tenants: ['tenant-a'], selectors: [{ namespace: 'robots' }] }] },
  });
  const res = await g.asUser(await g.sign({ claims: { sub: 'service-account:3', type: 'service-account' } }));
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(sentQuery(g), 'up{namespace="robots"}');
  g.upstream.reset();
  assertRefused(
    g,
    await g.asUser(await g.sign({ claims: { sub: 'service-account:4', type: 'service-account' } })),
    403,
    'grafana_identity_refused',
  );
});

test("JWKS: a new month's key is fetched on its unknown kid; a key regenerated under its kid on the failed signature", async (t) => {
  const g = await startGrafanaGateway(t);
  const fetches = () => g.grafana.requests.get('/api/signing-keys/keys') ?? 0;
  assert.equal(fetches(), 1);
  const next = await g.grafana.rotate('2027-01');
  g.clock.advance(10_000);
  assert.equal((await g.asUser(await g.sign({ key: next, claims: { sub: 'user:8' } }))).status, 200);
  assert.equal(fetches(), 2);
  await g.grafana.regenerate(next);
  g.clock.advance(10_000);
  assert.equal((await g.asUser(await g.sign({ key: next, claims: { sub: 'user:8' } }))).status, 200);
  assert.equal(fetches(), 3);
  // Within the rate limit, another regeneration is not fetched: refused, and no request to Grafana.
  await g.grafana.regenerate(next);
  g.upstream.reset();
  assertRefused(g, await g.asUser(await g.sign({ key: next, claims: { sub: 'user:8' } })), 401, 'bad_signature');
  assert.equal(fetches(), 3);
  // The previous month's key retired: a token it signed, verified before, is refused once the keys change.
  const previous = g.grafana.keys[0];
  assert.ok(previous && previous !== next);
  const old = await g.sign({ key: previous, claims: { sub: 'user:8' } });
  assert.equal((await g.asUser(old)).status, 200);
  g.grafana.retire(previous);
  g.clock.advance(10_000);
  g.upstream.reset();
  assert.equal((await g.asUser(await g.sign({ key: next, claims: { sub: 'user:8' } }))).status, 200, 'the regenerated key is fetched');
  g.upstream.reset();
  assertRefused(g, await g.asUser(old), 401, 'unknown_key');
});

test('JWKS: many tokens with an unknown kid at once cause one fetch (single-flight)', async (t) => {
  const g = await startGrafanaGateway(t);
  const next = await g.grafana.rotate('2027-01');
  g.clock.advance(10_000);
  const token = await g.sign({ key: next, claims: { sub: 'user:8' } });
  const results = await Promise.all(Array.from({ length: 10 }, () => g.asUser(token)));
  assert.deepEqual(
    results.map((r) => r.status),
    Array(10).fill(200),
  );
  assert.equal(g.grafana.requests.get('/api/signing-keys/keys'), 2);
});

test("an empty X-Grafana-Id is no X-Grafana-Id: the data source's own policy", async (t) => {
  const g = await startGrafanaGateway(t);
  const res = await sendRaw(g.gateway.url, {
    path: '/api/v1/query?query=up',
    headers: { authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-id': '' },
  });
  assert.equal(res.status, 200);
  assert.equal(sentQuery(g), 'up{namespace="alerting"}');
});

test('several selectors over several labels: the exact union, or a refusal, never wider', async (t) => {
  const teams = [
    { id: 1, uid: 'uid-alpha', name: 'alpha', members: [7] },
    { id: 5, uid: 'uid-delta', name: 'delta', members: [7] },
  ];
  const g = await startGrafanaGateway(t, {
    teams,
    grafana: {
      teams: [
        { name: 'alpha', tenants: ['tenant-a'], selectors: [{ namespace: 'team-a', env: 'prod' }] },
        { name: 'delta', tenants: ['tenant-a'], selectors: [{ namespace: ['team-d', 'team-e'], env: 'dev' }, { namespace: 'shared' }] },
      ],
    },
  });
  const res = await g.asUser(await g.sign({ claims: { sub: 'user:7' } }));
  if (res.status === 200) {
    const query = sentQuery(g);
    for (const part of ['team-a', 'prod', 'team-d', 'team-e', 'dev', 'shared']) assert.ok(query.includes(part), query);
  } else {
    assertRefused(g, res, 403, 'policy_not_expressible');
  }
});

test('JWKS cache time: no-store refetches at keys_default_age; a long max-age is bounded by keys_max_age', async (t) => {
  const fetchesOf = (g: GrafanaGateway) => g.grafana.requests.get('/api/signing-keys/keys') ?? 0;
  const noStore = await startGrafanaGateway(t, {
    cacheControl: 'no-store',
    grafana: { keys_default_age: '150ms', keys_min_refetch_interval: '50ms' },
  });
  const capped = await startGrafanaGateway(t, {
    cacheControl: 'public, max-age=3600',
    grafana: { keys_max_age: '150ms', keys_min_refetch_interval: '50ms' },
  });
  await noStore.eventually(async () => fetchesOf(noStore) >= 3 && fetchesOf(capped) >= 3);
});

test('a basic-auth user can be the presenter: the data source authenticates with basic authentication', async (t) => {
  const files = await createAuthFiles({
    users: [
      { username: 'grafana', password: 'ds-password', tenant: 'tenant-a', namespaces: ['alerting'] },
      { username: 'someone', password: 'other-password', tenant: 'tenant-a', namespaces: ['team-a'] },
    ],
  });
  t.after(() => files.remove());
  const g = await startGrafanaGateway(t, {
    auth: { basic: { users_file: files.usersPath, watch: false } },
    grafana: { presenters: [{ authenticator: 'basic', subject: 'grafana' }] },
  });
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const token = await g.sign({ claims: { sub: 'user:8' } });
  const res = await g.query({ authorization: basic('grafana', 'ds-password'), 'x-grafana-id': token });
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(sentQuery(g), 'up{namespace="team-b"}');
  g.upstream.reset();
  assertRefused(
    g,
    await g.query({ authorization: basic('someone', 'other-password'), 'x-grafana-id': token }),
    403,
    'grafana_channel_not_allowed',
  );
  assertRefused(g, await g.query({ authorization: basic('grafana', 'wrong'), 'x-grafana-id': token }), 401, 'invalid_credentials');
  // The static token named like the presenter is not it: the authenticator is part of the presenter's name.
  assertRefused(g, await g.asUser(token), 403, 'grafana_channel_not_allowed');
});

test("logs and traces: the same user's policy on a Loki and a Tempo upstream", async (t) => {
  const loki = await startGrafanaGateway(t, { upstreamType: 'loki' });
  const headers = { authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-id': await loki.sign({ claims: { sub: 'user:8' } }) };
  const logs = await sendRaw(loki.gateway.url, {
    path: `/loki/api/v1/query_range?query=${encodeURIComponent('{job="api"} |= "error"')}`,
    headers,
  });
  assert.equal(logs.status, 200, logs.body.toString());
  assert.equal(
    new URL(loki.upstream.requests[0]?.url ?? '', 'http://x').searchParams.get('query'),
    '{job="api", namespace="team-b"} |= "error"',
  );
  const tempo = await startGrafanaGateway(t, { upstreamType: 'tempo' });
  const traceHeaders = { authorization: `Bearer ${GRAFANA_DS_TOKEN}`, 'x-grafana-id': await tempo.sign({ claims: { sub: 'user:8' } }) };
  const traces = await sendRaw(tempo.gateway.url, {
    path: `/api/search?q=${encodeURIComponent('{ span.http.status_code = 500 }')}`,
    headers: traceHeaders,
  });
  assert.equal(traces.status, 200, traces.body.toString());
  const q = new URL(tempo.upstream.requests[0]?.url ?? '', 'http://x').searchParams.get('q') ?? '';
  assert.match(q, /team-b/);
  assert.doesNotMatch(q, /team-a/);
});
