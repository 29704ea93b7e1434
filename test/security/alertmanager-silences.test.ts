import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { startAlertmanager, type AlertmanagerServer } from '../servers/alertmanager.js';
import { sendRaw } from '../servers/http-client.js';

// A shared Alertmanager: a tenant may expire or rewrite its own silences, never another tenant's. The gateway
// looks the silence up on the real Alertmanager before letting a DELETE or an update through.
let alertmanager: AlertmanagerServer;

const fixture = gatewayFixture({
  before: async (cleanup) => {
    alertmanager = await startAlertmanager();
    cleanup.after(() => alertmanager.stop());
  },
  tokens: {
    'tok-a': { tenant: 'team-a', namespace: 'team-a' },
    'tok-b': { tenant: 'team-b', namespace: 'team-b' },
  },
  config: () => ({ proxy: { upstreams: [{ type: 'alertmanager', match: '.*', upstream: alertmanager.url }] } }),
});

const silenceFor = (namespace: string, comment = 'maintenance') => ({
  matchers: [{ name: 'namespace', value: namespace, isRegex: false, isEqual: true }],
  startsAt: new Date().toISOString(),
  endsAt: new Date(Date.now() + 3_600_000).toISOString(),
  createdBy: 'test',
  comment,
});

async function call(token: string, method: string, path: string, body?: unknown) {
  return sendRaw(fixture.gateway.url, {
    method,
    path,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The silence's state as Alertmanager itself holds it (no gateway). */
async function stateOf(id: string): Promise<{ state: string; comment: string }> {
  const res = await sendRaw(alertmanager.url, { path: `/api/v2/silence/${id}` });
  const silence = res.json<{ status: { state: string }; comment: string }>();
  return { state: silence.status.state, comment: silence.comment };
}

async function create(token: string, namespace: string): Promise<string> {
  const res = await call(token, 'POST', '/api/v2/silences', silenceFor(namespace));
  assert.equal(res.status, 200, res.body.toString());
  return res.json<{ silenceID: string }>().silenceID;
}

test("deleting another tenant's silence is 404 and it stays active; deleting one's own works", async () => {
  const theirs = await create('tok-b', 'team-b');
  const refused = await call('tok-a', 'DELETE', `/api/v2/silence/${theirs}`);
  assert.equal(refused.status, 404);
  assert.equal(refused.json<{ code: string }>().code, 'silence_not_found');
  assert.equal((await stateOf(theirs)).state, 'active');

  const own = await create('tok-a', 'team-a');
  assert.equal((await call('tok-a', 'DELETE', `/api/v2/silence/${own}`)).status, 200);
  assert.equal((await stateOf(own)).state, 'expired');
});

test("updating another tenant's silence by id is refused and leaves it unchanged", async () => {
  const theirs = await create('tok-b', 'team-b');
  // The new content is within team-a's policy; only the id points at team-b's silence.
  const refused = await call('tok-a', 'POST', '/api/v2/silences', { ...silenceFor('team-a', 'hijacked'), id: theirs });
  assert.equal(refused.status, 404);
  assert.deepEqual(await stateOf(theirs), { state: 'active', comment: 'maintenance' });

  const own = await create('tok-a', 'team-a');
  const updated = await call('tok-a', 'POST', '/api/v2/silences', { ...silenceFor('team-a', 'extended'), id: own });
  assert.equal(updated.status, 200, updated.body.toString());
});
