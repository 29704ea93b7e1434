import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAlertmanager, type AlertmanagerServer } from '../servers/alertmanager.js';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw } from '../servers/http-client.js';

// Go's encoding/json reads object members case-insensitively, with Unicode folding (the long s ſ is an s, the
// Kelvin sign K a k): a body is checked as the Go upstream will read it, and a field given under two spellings
// is refused (400 ambiguous_json). Against the real Alertmanager for silences; Loki push JSON and OTLP JSON
// through recording upstreams (what arrived is what was checked, a refused body never arrives).
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
  upstreams: { loki: {}, tempo: {} },
  config: (_, { loki, tempo }) => ({
    proxy: {
      upstreams: [
        { type: 'loki', match: 'loki\\.example', upstream: loki, priority: 10 },
        { type: 'tempo', match: 'tempo\\.example', upstream: tempo, priority: 10 },
        { type: 'alertmanager', match: '.*', upstream: alertmanager.url },
      ],
    },
  }),
});

async function post(token: string, path: string, body: string, host = 'am.example', contentType = 'application/json') {
  return sendRaw(fixture.gateway.url, {
    method: 'POST',
    path,
    headers: { host, authorization: `Bearer ${token}`, 'content-type': contentType },
    body,
  });
}

describe('Alertmanager silences (real Alertmanager)', () => {
  const silenceFor = (namespace: string, comment = 'maintenance') => ({
    matchers: [{ name: 'namespace', value: namespace, isRegex: false, isEqual: true }],
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    createdBy: 'test',
    comment,
  });

  async function create(token: string, namespace: string): Promise<string> {
    const res = await post(token, '/api/v2/silences', JSON.stringify(silenceFor(namespace)));
    assert.equal(res.status, 200, res.body.toString());
    return res.json<{ silenceID: string }>().silenceID;
  }

  /** The silence as Alertmanager holds it (no gateway). */
  async function stateOf(id: string): Promise<{ state: string; comment: string }> {
    const res = await sendRaw(alertmanager.url, { path: `/api/v2/silence/${id}` });
    const silence = res.json<{ status: { state: string }; comment: string }>();
    return { state: silence.status.state, comment: silence.comment };
  }

  async function activeSilences(): Promise<{ id: string; matchers: { name: string; value: string; isEqual: boolean }[] }[]> {
    const res = await sendRaw(alertmanager.url, { path: '/api/v2/silences' });
    return res
      .json<{ id: string; status: { state: string }; matchers: { name: string; value: string; isEqual: boolean }[] }[]>()
      .filter((s) => s.status.state === 'active');
  }

  for (const key of ['ID', 'Id', 'iD']) {
    test(`"${key}" naming another tenant's silence is looked up as its id: 404, and the silence stays as it was`, async () => {
      const theirs = await create('tok-b', 'team-b');
      const res = await post('tok-a', '/api/v2/silences', JSON.stringify({ ...silenceFor('team-a', 'hijacked'), [key]: theirs }));
      assert.equal(res.status, 404, res.body.toString());
      assert.equal(res.json<{ code: string }>().code, 'silence_not_found');
      assert.deepEqual(await stateOf(theirs), { state: 'active', comment: 'maintenance' });
    });
  }

  test('"Id" naming one\'s own silence updates it (the id is read, and sent as id)', async () => {
    const own = await create('tok-a', 'team-a');
    // Alertmanager updates an active silence in place only when startsAt is unchanged: sent back
    // as it holds it, as amtool does, so a second boundary between the two posts cannot make it a new silence.
    const held = (await sendRaw(alertmanager.url, { path: `/api/v2/silence/${own}` })).json<{ startsAt: string }>();
    const update = { ...silenceFor('team-a', 'extended'), startsAt: held.startsAt, Id: own };
    const res = await post('tok-a', '/api/v2/silences', JSON.stringify(update));
    assert.equal(res.status, 200, res.body.toString());
    // Same matchers: Alertmanager updates the silence in place, which it does only when it read the id.
    assert.equal(res.json<{ silenceID: string }>().silenceID, own);
    assert.deepEqual(await stateOf(own), { state: 'active', comment: 'extended' });
  });

  test('a matcher with i\u017fEqual=false (long s, Go reads isEqual) is checked as a negation and refused', async () => {
    const before = (await activeSilences()).length;
    const body = { ...silenceFor('team-a'), matchers: [{ name: 'namespace', value: 'team-a', isRegex: false, 'i\u017fEqual': false }] };
    const res = await post('tok-a', '/api/v2/silences', JSON.stringify(body));
    assert.equal(res.status, 403, res.body.toString());
    assert.equal(res.json<{ code: string }>().code, 'policy_violation');
    assert.equal((await activeSilences()).length, before, 'no silence was created');
  });

  test('a matcher with IsEqual=false (capitals) is refused too', async () => {
    const body = { ...silenceFor('team-a'), matchers: [{ Name: 'namespace', Value: 'team-a', IsRegex: false, IsEqual: false }] };
    const res = await post('tok-a', '/api/v2/silences', JSON.stringify(body));
    assert.equal(res.status, 403, res.body.toString());
  });

  const ambiguous: { name: string; body: (theirs: string) => string }[] = [
    { name: 'id and ID', body: (theirs) => JSON.stringify({ ...silenceFor('team-a'), id: '', ID: theirs }) },
    {
      name: 'ID then id',
      body: (theirs) =>
        `{"ID":"${theirs}","id":"","matchers":[{"name":"namespace","value":"team-a","isRegex":false}],"startsAt":"${new Date().toISOString()}","endsAt":"${new Date(Date.now() + 60_000).toISOString()}","createdBy":"t","comment":"c"}`,
    },
    { name: 'matchers and Matchers', body: () => JSON.stringify({ ...silenceFor('team-a'), Matchers: silenceFor('team-b').matchers }) },
    {
      name: 'matchers and matcher\u017f (long s)',
      body: () => JSON.stringify({ ...silenceFor('team-a'), 'matcher\u017f': silenceFor('team-b').matchers }),
    },
    {
      name: 'isRegex and ISREGEX',
      body: () =>
        JSON.stringify({ ...silenceFor('team-a'), matchers: [{ name: 'namespace', value: 'team-a', isRegex: false, ISREGEX: true }] }),
    },
  ];
  for (const { name, body } of ambiguous) {
    test(`a silence with ${name} is 400 ambiguous_json and nothing changes`, async () => {
      const theirs = await create('tok-b', 'team-b');
      const before = (await activeSilences()).length;
      const res = await post('tok-a', '/api/v2/silences', body(theirs));
      assert.equal(res.status, 400, res.body.toString());
      assert.equal(res.json<{ code: string }>().code, 'ambiguous_json');
      assert.equal((await activeSilences()).length, before);
      assert.equal((await stateOf(theirs)).state, 'active');
    });
  }

  test('posted alerts: Labels and labels together are refused; Labels alone is read as the labels', async () => {
    const both = JSON.stringify([{ labels: { alertname: 'X', namespace: 'team-a' }, Labels: { alertname: 'X', namespace: 'team-b' } }]);
    const refused = await post('tok-a', '/api/v2/alerts', both);
    assert.equal(refused.status, 400, refused.body.toString());
    assert.equal(refused.json<{ code: string }>().code, 'ambiguous_json');
    const other = await post('tok-a', '/api/v2/alerts', JSON.stringify([{ LABELS: { alertname: 'X', namespace: 'team-b' } }]));
    assert.equal(other.status, 403, other.body.toString());
    const own = await post('tok-a', '/api/v2/alerts', JSON.stringify([{ Labels: { alertname: 'GoJsonKeys', namespace: 'team-a' } }]));
    assert.equal(own.status, 200, own.body.toString());
    const alerts = (await sendRaw(alertmanager.url, { path: '/api/v2/alerts?filter=alertname%3D%22GoJsonKeys%22' })).json<
      { labels: Record<string, string> }[]
    >();
    assert.deepEqual(
      alerts.map((a) => a.labels['namespace']),
      ['team-a'],
    );
  });
});

describe('Loki push JSON', () => {
  const values = [['1700000000000000000', 'line']];
  const cases: { name: string; body: unknown; want: number; code?: string }[] = [
    { name: 'Streams (capital) with another namespace', body: { Streams: [{ stream: { namespace: 'team-b' }, values }] }, want: 403 },
    { name: 'STREAM (capitals) with another namespace', body: { streams: [{ STREAM: { namespace: 'team-b' }, values }] }, want: 403 },
    {
      name: 'stream\u017f (long s) with another namespace',
      body: { 'stream\u017f': [{ stream: { namespace: 'team-b' }, values }] },
      want: 403,
    },
    {
      name: 'streams and Streams',
      body: { streams: [{ stream: { namespace: 'team-a' }, values }], Streams: [{ stream: { namespace: 'team-b' }, values }] },
      want: 400,
      code: 'ambiguous_json',
    },
    {
      name: 'stream and Stream',
      body: { streams: [{ stream: { namespace: 'team-a' }, Stream: { namespace: 'team-b' }, values }] },
      want: 400,
      code: 'ambiguous_json',
    },
    {
      name: 'values and Values',
      body: { streams: [{ stream: { namespace: 'team-a' }, values, Values: values }] },
      want: 400,
      code: 'ambiguous_json',
    },
  ];
  for (const { name, body, want, code } of cases) {
    test(`${name}: ${want}${code ? ` ${code}` : ''}, nothing forwarded`, async () => {
      const res = await post('tok-a', '/loki/api/v1/push', JSON.stringify(body), 'loki.example');
      assert.equal(res.status, want, res.body.toString());
      if (code) assert.equal(res.json<{ code: string }>().code, code);
      assert.equal(fixture.upstreams.loki.requests.length, 0);
    });
  }

  test('Streams/STREAM/Values of the own namespace arrive in canonical spelling', async () => {
    const body = { Streams: [{ STREAM: { namespace: 'team-a' }, Values: values }] };
    const res = await post('tok-a', '/loki/api/v1/push', JSON.stringify(body), 'loki.example');
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(fixture.upstreams.loki.requests.length, 1);
    assert.deepEqual(JSON.parse(fixture.upstreams.loki.requests[0]!.body.toString()), {
      streams: [{ stream: { namespace: 'team-a' }, values }],
    });
  });
});

describe('OTLP traces JSON (protojson: lowerCamel and proto names, case-sensitive)', () => {
  const spans = (ns: string) => [{ resource: { attributes: [{ key: 'namespace', value: { stringValue: ns } }] }, scopeSpans: [] }];
  const refused: { name: string; body: unknown }[] = [
    { name: 'resource_spans (proto name, read by Tempo)', body: { resource_spans: spans('team-b') } },
    {
      name: 'resourceSpans and resource_spans (Tempo appends both)',
      body: { resourceSpans: spans('team-a'), resource_spans: spans('team-b') },
    },
    { name: 'ResourceSpans', body: { ResourceSpans: spans('team-b') } },
    { name: 'RESOURCE_SPANS', body: { RESOURCE_SPANS: spans('team-b') } },
  ];
  for (const { name, body } of refused) {
    test(`${name} is refused and nothing forwarded`, async () => {
      const res = await post('tok-a', '/v1/traces', JSON.stringify(body), 'tempo.example');
      assert.ok(res.status === 400 || res.status === 403 || res.status === 415, `${res.status} ${res.body.toString()}`);
      assert.equal(fixture.upstreams.tempo.requests.length, 0);
    });
  }

  test('resourceSpans of the own namespace arrives', async () => {
    const res = await post('tok-a', '/v1/traces', JSON.stringify({ resourceSpans: spans('team-a') }), 'tempo.example');
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(fixture.upstreams.tempo.requests.length, 1);
  });
});
