import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretsConfigSchema } from './secrets.js';

test('LGTM-Auth-Proxy keys parse with durations in ms and defaults filled', () => {
  const config = secretsConfigSchema.parse({ backend_type: 'secretsmanager', secretsmanager: { secret_id: 'prod/tokens' } });
  assert.equal(config.secretsmanager?.refresh_interval, 60_000);
  assert.equal(config.secretsmanager?.stale_threshold, 900_000);
  assert.deepEqual(config.static_tokens, { policy_label: 'namespace' });
  const file = secretsConfigSchema.parse({ backend_type: 'file', file: { path: '/t.yaml', refresh_interval: '30s' } });
  assert.equal(file.file?.refresh_interval, 30_000);
  assert.equal(file.file?.watch, true);
});

const invalid: { name: string; input: unknown; path: string }[] = [
  { name: 'backend without its section', input: { backend_type: 'secretsmanager' }, path: 'secretsmanager' },
  { name: 'file backend without [file]', input: { backend_type: 'file' }, path: 'file' },
  {
    name: 'bad duration',
    input: { backend_type: 'file', file: { path: '/t', stale_threshold: '15 minutes' } },
    path: 'file.stale_threshold',
  },
  { name: 'unknown backend', input: { backend_type: 'vault' }, path: 'backend_type' },
  { name: 'unknown key', input: { secretsmanager: { secret_id: 'x', secretid: 'y' } }, path: 'secretsmanager' },
  { name: 'non-http endpoint', input: { secretsmanager: { secret_id: 'x', endpoint: 'ftp://x' } }, path: 'secretsmanager.endpoint' },
];

for (const row of invalid) {
  test(`refuses ${row.name}, naming the key`, () => {
    const result = secretsConfigSchema.safeParse(row.input);
    assert.equal(result.success, false);
    assert.equal(result.error?.issues[0]?.path.join('.'), row.path);
  });
}
