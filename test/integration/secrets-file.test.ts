import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { secretsConfigSchema } from '../../src/config/sections/secrets.js';
import { createTokenSource, type TokenSource } from '../../src/identity/static-token.js';
import { Unauthorized } from '../../src/core/http-errors.js';

const bearer = (token: string) => ({ bearer: { header: 'authorization', token } });

async function withTokenFile(initial: string, run: (path: string, tokens: TokenSource) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-secrets-file-'));
  const path = join(dir, 'tokens.yaml');
  await writeFile(path, initial);
  const config = secretsConfigSchema.parse({ backend_type: 'file', file: { path } });
  const tokens = (await createTokenSource(config, {
    clock: { now: () => Date.now() },
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  })) as TokenSource;
  try {
    await tokens.refresher.start();
    await run(path, tokens);
  } finally {
    tokens.refresher.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves once the watcher-triggered refresh has produced a set in which `token` is known. */
async function waitForToken(tokens: TokenSource, token: string): Promise<void> {
  // Polls the refresher's state (no fixed sleep); the test's own timeout bounds it.
  while (tokens.refresher.current()?.lookup(token) === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('replacing the token file (rename, as editors do) swaps the set without a restart', () =>
  withTokenFile('old-token: tenant-a\n', async (path, tokens) => {
    assert.ok(await tokens.authenticator.authenticate(bearer('old-token')));
    await writeFile(`${path}.tmp`, 'new-token: {tenant: tenant-b, namespace: team-b}\n');
    await rename(`${path}.tmp`, path);
    await waitForToken(tokens, 'new-token');
    assert.deepEqual((await tokens.authenticator.authenticate(bearer('new-token')))?.tenants, ['tenant-b']);
    assert.throws(() => tokens.authenticator.authenticate(bearer('old-token')), Unauthorized);
  }));

test('a broken or invalid file keeps the last good set', () =>
  withTokenFile('good-token: tenant-a\n', async (path, tokens) => {
    await writeFile(path, 'good-token: [unclosed\n');
    assert.equal(await tokens.refresher.refreshNow(), false);
    await writeFile(path, 'good-token: {tenant: "a|b"}\n');
    assert.equal(await tokens.refresher.refreshNow(), false);
    await rm(path);
    assert.equal(await tokens.refresher.refreshNow(), false);
    assert.deepEqual((await tokens.authenticator.authenticate(bearer('good-token')))?.tenants, ['tenant-a']);
    assert.equal(tokens.refresher.readiness.notReadyReason(), undefined);
  }));
