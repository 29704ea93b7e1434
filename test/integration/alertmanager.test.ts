import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { startAlertmanager, type AlertmanagerServer } from '../servers/alertmanager.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';

// Issue #5, a plain Alertmanager shared by tenants: the policy is the only isolation. A real
// prometheus-alertmanager behind the gateway; what it holds is checked directly, not through the gateway.
let alertmanager: AlertmanagerServer;

const fixture = gatewayFixture({
  before: async (cleanup) => {
    alertmanager = await startAlertmanager();
    cleanup.after(() => alertmanager.stop());
  },
  tokens: {
    'tok-a': { tenant: 'team-a', namespace: 'team-a', name: 'team-a' },
    'tok-b': { tenant: 'team-b', namespace: 'team-b', name: 'team-b' },
  },
  config: () => ({ proxy: { upstreams: [{ type: 'alertmanager', match: '.*', upstream: alertmanager.url }] } }),
});

function api(token: string | undefined, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const base = token === undefined ? alertmanager.url : fixture.gateway.url;
  return sendRaw(base, { method, path, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

const hourFromNow = () => new Date(Date.now() + 3_600_000).toISOString();
const alert = (alertname: string, namespace: string) => ({ labels: { alertname, namespace }, annotations: {}, endsAt: hourFromNow() });
const silence = (namespace: string) => ({
  matchers: [{ name: 'namespace', value: namespace, isRegex: false, isEqual: true }],
  startsAt: new Date().toISOString(),
  endsAt: hourFromNow(),
  createdBy: 'test',
  comment: `silence ${namespace}`,
});

async function alertNames(token: string | undefined): Promise<string[]> {
  const res = await api(token, 'GET', '/api/v2/alerts');
  assert.equal(res.status, 200, res.body.toString());
  return res
    .json<{ labels: { alertname: string } }[]>()
    .map((a) => a.labels.alertname)
    .sort();
}

async function silencedNamespaces(token: string | undefined): Promise<string[]> {
  const res = await api(token, 'GET', '/api/v2/silences');
  assert.equal(res.status, 200, res.body.toString());
  return res
    .json<{ matchers: { value: string }[] }[]>()
    .map((s) => s.matchers.map((m) => m.value).join(','))
    .sort();
}

test('an alert posted by team-a is visible to team-a and not to team-b', async () => {
  assert.equal((await api('tok-a', 'POST', '/api/v2/alerts', [alert('TeamAOnly', 'team-a')])).status, 200);
  assert.equal((await api('tok-b', 'POST', '/api/v2/alerts', [alert('TeamBOnly', 'team-b')])).status, 200);
  assert.deepEqual(await alertNames(undefined), ['TeamAOnly', 'TeamBOnly']);
  assert.deepEqual(await alertNames('tok-a'), ['TeamAOnly']);
  assert.deepEqual(await alertNames('tok-b'), ['TeamBOnly']);
});

test("posting an alert or a silence for team-b's namespace as team-a is 403 and nothing is stored", async () => {
  const posted = await api('tok-a', 'POST', '/api/v2/alerts', [alert('Sneaky', 'team-b')]);
  assert.equal(posted.status, 403);
  assert.equal(posted.json().code, 'policy_violation');
  const silenced = await api('tok-a', 'POST', '/api/v2/silences', silence('team-b'));
  assert.equal(silenced.status, 403);
  const wide = await api('tok-a', 'POST', '/api/v2/silences', {
    ...silence('team-a'),
    matchers: [{ name: 'namespace', value: 'team-.*', isRegex: true, isEqual: true }],
  });
  assert.equal(wide.status, 403);
  assert.ok(!(await alertNames(undefined)).includes('Sneaky'));
  assert.deepEqual(
    (await silencedNamespaces(undefined)).filter((ns) => ns !== 'team-a'),
    [],
  );
});

test('silences are filtered to the policy', async () => {
  assert.equal((await api('tok-a', 'POST', '/api/v2/silences', silence('team-a'))).status, 200);
  assert.equal((await api('tok-b', 'POST', '/api/v2/silences', silence('team-b'))).status, 200);
  assert.deepEqual(await silencedNamespaces('tok-a'), ['team-a']);
  assert.deepEqual(await silencedNamespaces('tok-b'), ['team-b']);
  assert.deepEqual(await silencedNamespaces(undefined), ['team-a', 'team-b']);
});

test('status and receivers reveal the whole configuration: 403 for limited identities', async () => {
  for (const path of ['/api/v2/status', '/api/v2/receivers']) {
    const res = await api('tok-a', 'GET', path);
    assert.equal(res.status, 403, path);
    assert.equal(res.json().code, 'full_access_required');
  }
});
