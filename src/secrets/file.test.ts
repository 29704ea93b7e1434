import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSource } from './file.js';
import { SecretSourceError } from './source.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-file-source-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('loads JSON and YAML by extension', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'tokens.json'), '{"tok":"tenant-a"}');
    await writeFile(join(dir, 'tokens.yaml'), 'tok:\n  tenant: tenant-b\n  namespace: team-b\n');
    assert.deepEqual(await createFileSource({ path: join(dir, 'tokens.json') }).load(), { tok: 'tenant-a' });
    assert.deepEqual(await createFileSource({ path: join(dir, 'tokens.yaml') }).load(), {
      tok: { tenant: 'tenant-b', namespace: 'team-b' },
    });
  }));

test('a broken or missing file fails without echoing its content', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'bad.json'), '{"s3cr3t": ');
    await writeFile(join(dir, 'bad.yaml'), 's3cr3t: [unclosed\n  other: "s3cr3t');
    for (const name of ['bad.json', 'bad.yaml', 'missing.json']) {
      await assert.rejects(createFileSource({ path: join(dir, name) }).load(), (error: unknown) => {
        assert.ok(error instanceof SecretSourceError);
        assert.ok(!error.message.includes('s3cr3t'), error.message);
        return true;
      });
    }
  }));

test('watch reports a replace-by-rename, as editors and Kubernetes do', () =>
  withDir(async (dir) => {
    const path = join(dir, 'tokens.json');
    await writeFile(path, '{"old":"t"}');
    const source = createFileSource({ path, debounceMs: 10 });
    let changes = 0;
    const changed = new Promise<void>((resolve) => {
      const stop = source.watch?.(() => {
        changes += 1;
        stop?.();
        resolve();
      });
    });
    await writeFile(join(dir, 'tokens.json.tmp'), '{"new":"t"}');
    await rename(join(dir, 'tokens.json.tmp'), path);
    // The watcher and its timer do not hold the process open (a gateway's server does); this test must.
    const keepAlive = setInterval(() => undefined, 1000);
    await changed.finally(() => clearInterval(keepAlive));
    assert.equal(changes, 1);
    assert.deepEqual(await source.load(), { new: 't' });
  }));
