import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnvSource } from './env.js';
import { SecretSourceError } from './source.js';

test('reads a JSON token set from SCOPEGATE_TOKENS', async () => {
  const source = createEnvSource({ env: { SCOPEGATE_TOKENS: '{"tok":"tenant-a"}' } });
  assert.deepEqual(await source.load(), { tok: 'tenant-a' });
  assert.equal(source.name, 'env');
});

test('reads a custom variable and SCOPEGATE_TOKEN_<NAME>=token:tenant, named after <NAME>', async () => {
  const source = createEnvSource({
    variable: 'MY_TOKENS',
    env: { MY_TOKENS: '{"a":"t1"}', SCOPEGATE_TOKEN_CI: 'x:y:tenant-b' },
  });
  assert.deepEqual(await source.load(), { a: 't1', 'x:y': { tenant: 'tenant-b', name: 'ci' } });
});

test('fails without echoing the secret', async () => {
  const cases: NodeJS.ProcessEnv[] = [
    { SCOPEGATE_TOKENS: '{"s3cr3t": ' },
    { SCOPEGATE_TOKENS: '["s3cr3t"]' },
    { SCOPEGATE_TOKEN_CI: 's3cr3t' },
    { SCOPEGATE_TOKENS: '{"s3cr3t":"a"}', SCOPEGATE_TOKEN_CI: 's3cr3t:b' },
    {},
  ];
  for (const env of cases) {
    await assert.rejects(createEnvSource({ env }).load(), (error: unknown) => {
      assert.ok(error instanceof SecretSourceError);
      assert.ok(!error.message.includes('s3cr3t'), error.message);
      return true;
    });
  }
});
