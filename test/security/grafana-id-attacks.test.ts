import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair } from 'jose';
import type { RawResponse } from '../servers/http-client.js';
import { GRAFANA_DS_TOKEN, OTHER_DS_TOKEN, startGrafanaGateway, type GrafanaGateway } from '../servers/grafana-gateway.js';
import { forgeToken, grafanaClaims, newKey, publicKeySecrets } from '../servers/grafana.js';

// Issue #20, attacks on X-Grafana-Id: every refused request is refused with its code and never reaches the
// upstream; nothing the client adds (unsigned Grafana headers, a label-policy header) grants anything.

function assertRefused(g: GrafanaGateway, res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(res.json().code, code, res.body.toString());
  assert.equal(g.upstream.requests.length, 0, 'a refused request must not reach the upstream');
  g.upstream.reset();
}

function sentQuery(g: GrafanaGateway): string {
  assert.equal(g.upstream.requests.length, 1);
  const query = new URL(g.upstream.requests[0]?.url ?? '', 'http://x').searchParams.get('query') ?? '';
  g.upstream.reset();
  return query;
}

const nowS = (g: GrafanaGateway) => Math.floor(g.clock.now() / 1000);

test('time: expired, expired beyond the skew, issued in the future beyond the skew; within the skew accepted', async (t) => {
  const g = await startGrafanaGateway(t);
  const now = nowS(g);
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', iat: now - 1200, exp: now - 600 } })), 401, 'token_expired');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', iat: now - 611, exp: now - 11 } })), 401, 'token_expired');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', iat: now + 60, exp: now + 660 } })), 401, 'token_not_yet_valid');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', exp: undefined } })), 401, 'malformed_token');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', iat: undefined } })), 401, 'malformed_token');
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8', iat: now + 5, exp: now + 605 } }))).status, 200);
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8', iat: now - 605, exp: now - 5 } }))).status, 200);
});

test('time: a token verified once is refused after its exp (the cache never outlives it)', async (t) => {
  const g = await startGrafanaGateway(t, { grafana: { teams_grace_period: '1h' } });
  const token = await g.sign({ claims: { sub: 'user:8' } });
  assert.equal((await g.asUser(token)).status, 200);
  g.upstream.reset();
  g.clock.advance(611_000); // past exp and the 10 s skew
  assertRefused(g, await g.asUser(token), 401, 'token_expired');
});

test("issuer: exactly Grafana's root_url, with or without its trailing slash; no prefix, suffix or case tricks", async (t) => {
  const g = await startGrafanaGateway(t);
  const root = g.grafana.url; // http://127.0.0.1:<port>/
  for (const iss of [
    `${root}evil/`,
    `${root}/`,
    root.replace('http://', 'HTTP://'),
    root.replace('127.0.0.1', '127.0.0.1.evil.example'),
    `${root.slice(0, -1)}0/`,
    'https://grafana.example.com/',
    `${root.replace(/\/$/, '')}?`,
    ` ${root}`,
  ]) {
    assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', iss } })), 401, 'wrong_issuer');
  }
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', iss: undefined } })), 401, 'malformed_token');
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8', iss: root.replace(/\/$/, '') } }))).status, 200);
});

test('audience: one org as a string or a one-element array; another org, several, or none refused', async (t) => {
  const g = await startGrafanaGateway(t);
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', aud: 'org:2' } })), 403, 'grafana_wrong_org');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', aud: ['org:2'] } })), 403, 'grafana_wrong_org');
  for (const aud of [['org:1', 'org:2'], ['org:2', 'org:1'], 'org:1 ', 'org:', 'org:1x', 'scopegate', [], undefined, 1]) {
    assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', aud } })), 401, 'wrong_audience');
  }
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8', aud: ['org:1'] } }))).status, 200);
});

test("algorithm confusion: none, HS256 keyed with the public key (PEM and JWK), RS256 and ES384 under Grafana's kid", async (t) => {
  const g = await startGrafanaGateway(t);
  const key = g.grafana.keys[0];
  assert.ok(key);
  const claims = { ...grafanaClaims(g.grafana.url, nowS(g), 'user:8') };
  assertRefused(g, await g.asUser(forgeToken({ alg: 'none', kid: key.kid, typ: 'jwt' }, claims)), 401, 'algorithm_not_allowed');
  assertRefused(g, await g.asUser(forgeToken({ alg: 'None', kid: key.kid }, claims)), 401, 'algorithm_not_allowed');
  for (const secret of await publicKeySecrets(key)) {
    assertRefused(g, await g.asUser(forgeToken({ alg: 'HS256', kid: key.kid, typ: 'jwt' }, claims, secret)), 401, 'algorithm_not_allowed');
  }
  const rsa = await generateKeyPair('RS256');
  assertRefused(
    g,
    await g.asUser(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(rsa.privateKey)),
    401,
    'algorithm_not_allowed',
  );
  const p384 = await generateKeyPair('ES384');
  assertRefused(
    g,
    await g.asUser(await new SignJWT(claims).setProtectedHeader({ alg: 'ES384', kid: key.kid }).sign(p384.privateKey)),
    401,
    'algorithm_not_allowed',
  );
});

test("keys: an unknown kid, a key not Grafana's under its kid, a tampered payload, no kid, a wrong typ", async (t) => {
  const g = await startGrafanaGateway(t);
  const stranger = await newKey('id-2099-01-es256');
  assertRefused(g, await g.asUser(await g.sign({ key: stranger, claims: { sub: 'user:8' } })), 401, 'unknown_key');
  const impostor = await newKey(g.grafana.keys[0]?.kid ?? '');
  assertRefused(g, await g.asUser(await g.sign({ key: impostor, claims: { sub: 'user:8' } })), 401, 'bad_signature');
  const [header, , signature] = (await g.sign({ claims: { sub: 'user:8' } })).split('.');
  const payload = Buffer.from(JSON.stringify(grafanaClaims(g.grafana.url, nowS(g), 'user:7'))).toString('base64url');
  assertRefused(g, await g.asUser(`${header}.${payload}.${signature}`), 401, 'bad_signature');
  assertRefused(g, await g.asUser(await g.sign({ header: { kid: undefined }, claims: { sub: 'user:8' } })), 401, 'malformed_token');
  assertRefused(g, await g.asUser(await g.sign({ header: { typ: 'at+jwt' }, claims: { sub: 'user:8' } })), 401, 'malformed_token');
  assertRefused(g, await g.asUser('not.a.jwt!'), 401, 'malformed_token');
  assertRefused(g, await g.asUser(`Bearer ${await g.sign({ claims: { sub: 'user:8' } })}`), 401, 'malformed_token');
  assert.equal(
    (await g.asUser(await g.sign({ header: { typ: undefined }, claims: { sub: 'user:8' } }))).status,
    200,
    'typ absent: Grafana before 11.1',
  );
  assert.equal((await g.asUser(await g.sign({ header: { typ: 'JWT' }, claims: { sub: 'user:8' } }))).status, 200);
});

test('keys: a flood of made-up kids and bad signatures costs Grafana at most one fetch per rate-limit interval', async (t) => {
  const g = await startGrafanaGateway(t);
  g.clock.advance(10_000);
  const before = g.grafana.requests.get('/api/signing-keys/keys') ?? 0;
  for (let i = 0; i < 10; i++) {
    const key = await newKey(i % 2 === 0 ? `made-up-${i}` : (g.grafana.keys[0]?.kid ?? ''));
    assertRefused(g, await g.asUser(await g.sign({ key, claims: { sub: 'user:8' } })), 401, i % 2 === 0 ? 'unknown_key' : 'bad_signature');
  }
  assert.equal((g.grafana.requests.get('/api/signing-keys/keys') ?? 0) - before, 1);
});

test("channel: a token without the data source's credential, with another data source's, with a wrong one", async (t) => {
  const g = await startGrafanaGateway(t);
  const token = await g.sign({ claims: { sub: 'user:8' } });
  assertRefused(g, await g.query({ 'x-grafana-id': token }), 401, 'grafana_channel_missing');
  assertRefused(g, await g.query({ 'x-grafana-id': token, authorization: `Bearer ${OTHER_DS_TOKEN}` }), 403, 'grafana_channel_not_allowed');
  assertRefused(g, await g.query({ 'x-grafana-id': token, authorization: 'Bearer guessed' }), 401, 'invalid_token');
  assertRefused(g, await g.query({ authorization: `Bearer ${token}` }), 401, 'invalid_token');
  // The other data source's credential alone is its own identity, never a Grafana user.
  assert.equal((await g.query({ authorization: `Bearer ${OTHER_DS_TOKEN}` })).status, 200);
  assert.equal(sentQuery(g), 'up{namespace="team-a"}');
});

test("channel: a refused X-Grafana-Id never falls back to the data source's own identity", async (t) => {
  const g = await startGrafanaGateway(t);
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:11' } })), 403, 'grafana_no_team');
  assertRefused(g, await g.asUser('garbage'), 401, 'malformed_token');
  assertRefused(
    g,
    await g.asUser([await g.sign({ claims: { sub: 'user:8' } }), await g.sign({ claims: { sub: 'user:7' } })]),
    401,
    'conflicting_credentials',
  );
});

test('identity types: anonymous, render, api keys and unlisted service accounts are refused; type and sub must agree', async (t) => {
  const g = await startGrafanaGateway(t);
  for (const sub of ['anonymous:0', 'render:0', 'api-key:1', 'service-account:3', 'provisioning:1', 'access-policy:1']) {
    assertRefused(g, await g.asUser(await g.sign({ claims: { sub, type: sub.split(':')[0] } })), 403, 'grafana_identity_refused');
  }
  for (const sub of ['user:', 'user:abc', 'user:8:9', 'user', '8', 'User:8', 'user:8 ']) {
    assertRefused(g, await g.asUser(await g.sign({ claims: { sub } })), 401, 'invalid_claims');
  }
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8', type: 'service-account' } })), 401, 'invalid_claims');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'service-account:3', type: 'user' } })), 401, 'invalid_claims');
});

test('smuggling: unsigned Grafana headers and a client X-Prom-Label-Policy grant nothing, with or without a user', async (t) => {
  const g = await startGrafanaGateway(t);
  const smuggled = {
    'x-grafana-user': 'admin',
    'x-grafana-org-id': '1',
    'x-rule-uid': 'rule',
    'x-rule-name': 'r',
    'x-rule-folder': 'f',
    'x-rule-source': 'grafana',
    'x-rule-type': 'alerting',
    'x-rule-version': '1',
    fromalert: 'true',
    'x-prom-label-policy': 'tenant-a:%7Bnamespace%3D~%22.%2A%22%7D',
    'x-scope-orgid': 'tenant-b',
    'x-id-token': 'x',
  };
  // X-Id-Token alone is a credential nobody here accepts.
  assertRefused(g, await g.query({ ...smuggled, 'x-scope-orgid': 'tenant-a' }), 401, 'invalid_credentials');
  assert.equal((await g.query({ ...smuggled, 'x-scope-orgid': 'tenant-a', authorization: `Bearer ${GRAFANA_DS_TOKEN}` })).status, 200);
  const headers = g.upstream.requests[0]?.headers ?? {};
  assert.equal(headers['x-prom-label-policy'], undefined);
  assert.equal(sentQuery(g), 'up{namespace="alerting"}');
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8' } }), { ...smuggled, 'x-scope-orgid': 'tenant-a' })).status, 200);
  assert.equal(sentQuery(g), 'up{namespace="team-b"}');
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8' } }), smuggled), 403, 'tenant_not_allowed');
});

test('teams map: past its grace period a user is refused, never served from a widened or empty map', async (t) => {
  const g = await startGrafanaGateway(t, { grafana: { teams_grace_period: '10s' } });
  g.grafana.down();
  g.clock.advance(11_000);
  assertRefused(g, await g.asUser(await g.sign({ claims: { sub: 'user:8' } })), 503, 'grafana_teams_stale');
  // The data source's own credential does not depend on the team map.
  assert.equal((await g.query({ authorization: `Bearer ${GRAFANA_DS_TOKEN}` })).status, 200);
});

test('X-Grafana-Id never reaches an upstream, even one that receives the credentials (forward_credentials)', async (t) => {
  const g = await startGrafanaGateway(t, { upstream: { forward_credentials: true } });
  assert.equal((await g.asUser(await g.sign({ claims: { sub: 'user:8' } }))).status, 200);
  const headers = g.upstream.requests[0]?.headers ?? {};
  assert.equal(headers.authorization, `Bearer ${GRAFANA_DS_TOKEN}`);
  assert.equal(headers['x-grafana-id'], undefined);
});
