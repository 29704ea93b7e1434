import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDefaultChainCredentialProvider } from './default-chain.js';

test('default chain: resolves credentials from the environment, the first link of the SDK chain', async (t) => {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
  process.env.AWS_ACCESS_KEY_ID = 'AKIAENV';
  process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
  process.env.AWS_SESSION_TOKEN = 'env-token';
  t.after(() => {
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ['AWS_SESSION_TOKEN', saved.token],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const provider = createDefaultChainCredentialProvider({});
  const credentials = await provider.fetchCredentials(new AbortController().signal);
  assert.equal(credentials.accessKeyId, 'AKIAENV');
  assert.equal(credentials.secretAccessKey, 'env-secret');
  assert.equal(credentials.sessionToken, 'env-token');
  process.env.AWS_ACCESS_KEY_ID = 'AKIAENV2';
  assert.equal((await provider.fetchCredentials(new AbortController().signal)).accessKeyId, 'AKIAENV2', 'each refresh reaches the source');
});
