import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from './load.js';

// `[auth.grafana]` (issue #20): what the schema refuses at load, naming the key.

const base = { proxy: { upstreams: [{ match: '.*', upstream: 'http://127.0.0.1:9009' }] } };
const grafana = {
  url: 'https://grafana.example.com/',
  api_token: 'glsa_x',
  presenters: [{ authenticator: 'static-token', subject: 'grafana-ds' }],
  teams: [{ name: 'a', tenants: ['t'], selectors: [{ namespace: 'a' }] }],
};

function refusal(section: Record<string, unknown>): string {
  try {
    parseConfig({ ...base, auth: { grafana: { ...grafana, ...section } } });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  return assert.fail('expected a config error');
}

test('a valid section is read with its defaults', () => {
  const c = parseConfig({ ...base, auth: { grafana } }).auth.grafana;
  assert.equal(c?.org_id, 1);
  assert.equal(c?.clock_skew, 10_000);
  assert.equal(c?.teams_refresh_interval, 30_000);
  assert.deepEqual(c?.service_accounts, []);
  assert.deepEqual(c?.teams[0]?.scopes, ['read', 'write']);
});

test('refused: no presenter, both or neither token, a refresh over 60 s, a skew over 60 s, a bad URL', () => {
  assert.match(refusal({ presenters: [] }), /auth\.grafana\.presenters/);
  assert.match(refusal({ api_token_file: '/x' }), /exactly one of api_token and api_token_file/);
  assert.match(refusal({ api_token: undefined }), /exactly one of api_token and api_token_file/);
  assert.match(refusal({ teams_refresh_interval: '61s' }), /teams_refresh_interval/);
  assert.match(refusal({ clock_skew: '2m' }), /clock_skew/);
  assert.match(refusal({ url: 'ftp://grafana.example.com/' }), /auth\.grafana\.url/);
  assert.match(refusal({ url: 'https://grafana.example.com/?x=1' }), /auth\.grafana\.url/);
});

test('refused: a team named twice over, a selector without labels, full access beside selectors, unknown keys', () => {
  assert.match(refusal({ teams: [{ name: 'a', uid: 'b', tenants: ['t'] }] }), /exactly one of name, uid and id/);
  assert.match(refusal({ teams: [{ tenants: ['t'] }] }), /exactly one of name, uid and id/);
  assert.match(refusal({ teams: [{ name: 'a', tenants: ['t'], selectors: [{}] }] }), /at least one label/);
  assert.match(
    refusal({ teams: [{ name: 'a', tenants: ['t'], selectors: [{ namespace: 'a' }], full_access: true }] }),
    /exclude each other/,
  );
  assert.match(refusal({ teams: [{ name: 'a', tenants: [], selectors: [{ namespace: 'a' }] }] }), /tenants/);
  assert.match(refusal({ team: [] }), /team/);
});
