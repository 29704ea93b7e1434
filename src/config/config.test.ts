import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from './load.js';

const base = { proxy: { upstreams: [{ match: '.*', upstream: 'http://127.0.0.1:9009' }] } };

test('JWT-shaped unknown bearers reach the JWT providers exactly when one is configured', () => {
  assert.equal(parseConfig(base).static_tokens.pass_through_jwt, false);
  const withJwks = parseConfig({ ...base, auth: { jwks: { url: 'http://127.0.0.1:1/keys' } } });
  assert.equal(withJwks.static_tokens.pass_through_jwt, true);
  const forcedOff = parseConfig({ ...base, static_tokens: { pass_through_jwt: false }, auth: { jwks: { url: 'http://127.0.0.1:1/keys' } } });
  assert.equal(forcedOff.static_tokens.pass_through_jwt, false);
});

test('errors name every bad key path, and unknown keys are refused', () => {
  const error = (() => {
    try {
      parseConfig({ lgo_level: 'info', proxy: { upstreams: [{ match: '(', upstream: 'ftp://x' }] } });
    } catch (e) {
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  })();
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join('\n');
  assert.match(text, /proxy\.upstreams\[0\]\.match: invalid regular expression/);
  assert.match(text, /proxy\.upstreams\[0\]\.upstream: upstream URL must be http or https/);
  assert.match(text, /lgo_level/);
});

test('a backend without its section is reported together with the other bad keys', () => {
  try {
    parseConfig({ backend_type: 'secretsmanager', proxy: { upstreams: [{ match: '(', upstream: 'http://x' }] } });
    assert.fail('expected a ConfigError');
  } catch (error) {
    const text = (error as ConfigError).problems.join('\n');
    assert.match(text, /proxy\.upstreams\[0\]\.match/);
    assert.match(text, /secretsmanager: required when backend_type = "secretsmanager"/);
  }
});
