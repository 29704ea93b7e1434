import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Issue #10: the demo printed "scopegate demo is running" while the gateway had crashed on a busy port, and
// kept running. Now the banner waits for /ready, and a process of the demo that exits stops it with exit 1.

test('demo: with its port busy, the demo says the gateway exited, prints no banner, stops everything and exits 1', {
  timeout: 300_000,
}, async (t) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const busyPort = (busy.address() as AddressInfo).port;
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-demo-'));
  t.after(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });
  const env = { ...process.env, SCOPEGATE_DEMO_PORT: String(busyPort), SCOPEGATE_DEMO_ADMIN_PORT: '0', SCOPEGATE_DEMO_DIR: dir };
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/demo/run.ts'], { env, timeout: 280_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
  assert.equal(run.code, 1, run.stderr);
  assert.doesNotMatch(run.stdout, /demo is running/);
  assert.match(run.stderr, new RegExp(`proxy\\.listen: cannot listen on 127\\.0\\.0\\.1:${busyPort}: EADDRINUSE`));
  assert.match(run.stderr, /scopegate demo stopped: the gateway exited \(exit code 1\); its error is above, its log is in /);
});
