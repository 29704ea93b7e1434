import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signSchema } from './sign.js';

test('sign: defaults are the default chain, signed payloads, 5m refresh margin and a 5-failure breaker', () => {
  const parsed = signSchema.parse({ service: 'aps', region: 'us-east-1' });
  assert.deepEqual(parsed.credentials, { type: 'default' });
  assert.equal(parsed.unsigned_payload, false);
  assert.equal(parsed.refresh_before, 300_000);
  assert.deepEqual(parsed.breaker, { failure_threshold: 5, open_timeout: 60_000 });
});

test('sign: durations are normalised to ms and credential types are validated by type', () => {
  const parsed = signSchema.parse({
    service: 'aps',
    region: 'eu-west-1',
    refresh_before: '10m',
    breaker: { open_timeout: '1m' },
    credentials: { type: 'vault', address: 'http://127.0.0.1:8200', role: 'amp', token_file: '/t', ttl: '1h' },
  });
  assert.equal(parsed.refresh_before, 600_000);
  assert.equal(parsed.breaker.open_timeout, 60_000);
  assert.equal(parsed.credentials.type === 'vault' && parsed.credentials.mount, 'aws');
  assert.equal(parsed.credentials.type === 'vault' && parsed.credentials.ttl, 3_600_000);
});

test('sign: errors name the key that is wrong', () => {
  const cases: Array<{ input: unknown; path: string }> = [
    { input: { service: 'aps', region: 'r', credentials: { type: 'static', access_key_id: 'A' } }, path: 'credentials.secret_access_key' },
    { input: { service: 'aps', region: 'r', credentials: { type: 'nope' } }, path: 'credentials.type' },
    { input: { service: 'aps', region: 'r', refresh_before: 'soon' }, path: 'refresh_before' },
    { input: { service: 'aps', region: 'r', credentials: { type: 'vault', address: 'http://v', role: 'r' } }, path: 'credentials' },
    {
      input: {
        service: 'aps',
        region: 'r',
        credentials: { type: 'web_identity', role_arn: 'a', token_file: 'f', sts_endpoint: 'ftp://x' },
      },
      path: 'credentials.sts_endpoint',
    },
    { input: { service: 'aps', region: 'r', secret: 'typo' }, path: '' },
  ];
  for (const { input, path } of cases) {
    const result = signSchema.safeParse(input);
    assert.equal(result.success, false, JSON.stringify(input));
    assert.equal(result.error?.issues[0]?.path.join('.'), path, JSON.stringify(input));
  }
});
