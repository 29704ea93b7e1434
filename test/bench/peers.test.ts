import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { goPeerEnv, hasCommand, nginxConfig } from '../../bench/peers.js';
import { ROOT } from '../../bench/processes.js';

// The bench's rivals are checked here, cheaply, so a broken peer shows up before a bench run; their speed is
// measured only by `npm run bench`. Skipped where nginx or go is not installed.

test('the bench nginx config is accepted by nginx -t', { skip: !hasCommand('nginx') && 'nginx is not installed' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-nginx-test-'));
  try {
    const config = join(dir, 'nginx.conf');
    await writeFile(config, nginxConfig({ dir, port: 1, upstreamOrigin: 'http://127.0.0.1:2', tokens: { 'token-a': 'tenant-a' } }));
    const result = spawnSync('nginx', ['-t', '-p', dir, '-e', 'stderr', '-c', config], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the bench Go peer passes go vet (standard library, Debian snappy and gogo/protobuf)', {
  skip: !hasCommand('go') && 'go is not installed',
}, () => {
  execFileSync('go', ['vet', '.'], { cwd: join(ROOT, 'bench/go-peer'), env: goPeerEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
});
