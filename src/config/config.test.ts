import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from './load.js';

const base = { proxy: { upstreams: [{ match: '.*', upstream: 'http://127.0.0.1:9009' }] } };

test('JWT-shaped unknown bearers reach the JWT providers exactly when one is configured', () => {
  assert.equal(parseConfig(base).static_tokens.pass_through_jwt, false);
  const withJwks = parseConfig({ ...base, auth: { jwks: { url: 'http://127.0.0.1:1/keys' } } });
  assert.equal(withJwks.static_tokens.pass_through_jwt, true);
  const forcedOff = parseConfig({
    ...base,
    static_tokens: { pass_through_jwt: false },
    auth: { jwks: { url: 'http://127.0.0.1:1/keys' } },
  });
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

test('decision_log sink = "otlp": errors name the key', () => {
  const problems = (decisionLog: Record<string, unknown>): string => {
    try {
      parseConfig({ ...base, decision_log: decisionLog });
    } catch (e) {
      return (e as ConfigError).problems.join('\n');
    }
    return '';
  };
  assert.match(problems({ sink: 'otlp' }), /decision_log\.otlp_endpoint: sink = "otlp" needs otlp_endpoint/);
  assert.match(
    problems({ sink: 'otlp', otlp_endpoint: 'ftp://collector/v1/logs' }),
    /decision_log\.otlp_endpoint: must be an http or https URL/,
  );
  assert.match(
    problems({ sink: 'otlp', otlp_endpoint: 'http://c:4318/v1/logs', path: '/tmp/d.jsonl' }),
    /decision_log\.path: sink = "otlp" takes no path/,
  );
  assert.match(problems({ sink: 'otlp', otlp_endpoint: 'http://c:4318/v1/logs', batch_size: 0 }), /decision_log\.batch_size/);
  assert.match(
    problems({ sink: 'otlp', otlp_endpoint: 'http://c:4318/v1/logs', timeout: 'soon' }),
    /decision_log\.timeout: invalid duration/,
  );
  assert.match(problems({ sink: 'otlp', otlp_endpoint: 'http://c:4318/v1/logs', headers: { 'bad header': 'x' } }), /decision_log\.headers/);
  assert.match(
    problems({ sink: 'file', path: '/tmp/d.jsonl', otlp_endpoint: 'http://c:4318/v1/logs' }),
    /decision_log\.otlp_endpoint: only for sink = "otlp"/,
  );
  assert.match(problems({ sink: 'stdout', batch_size: 10 }), /decision_log\.batch_size: only for sink = "otlp"/);
  const parsed = parseConfig({
    ...base,
    proxy: { ...base.proxy, workers: 2 },
    decision_log: { sink: 'otlp', otlp_endpoint: 'https://c:4318/v1/logs', batch_interval: '200ms' },
  });
  assert.equal(parsed.decision_log?.batch_interval, 200, 'durations in ms; several workers may each export');
});
