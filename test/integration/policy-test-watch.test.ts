import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `scopegate test --watch`: the cases run, then again when a test file changes, until the process is stopped;
// it exits with the last run's code. The CLI is spawned as users run it.

const BIN = fileURLToPath(new URL('../../bin/scopegate.js', import.meta.url));

function caseFile(query: string) {
  return JSON.stringify({
    cases: [
      {
        name: 'team-a query is enforced',
        identity: { token: 'team-a' },
        request: { host: 'prometheus.example.com', path: '/api/v1/query', params: { query: 'up' } },
        expect: { allowed: true, query },
      },
    ],
  });
}

test('--watch runs the cases again when a test file changes, and exits with the last run code', { timeout: 45_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-test-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tokens.json'), JSON.stringify({ 'tok-a': { name: 'team-a', tenant: 'team-a', namespaces: ['team-a'] } }));
  const config = join(dir, 'scopegate.toml');
  await writeFile(
    config,
    `backend_type = "file"
[file]
path = "${join(dir, 'tokens.json')}"
[[proxy.upstreams]]
name = "prometheus"
match = "prometheus\\\\.example\\\\.com"
upstream = "http://prometheus.internal:9090"
type = "prometheus"
timeout = "5s"
`,
  );
  const cases = join(dir, 'cases.yaml');
  await writeFile(cases, caseFile('up{namespace="team-a"}'));

  const child = spawn(process.execPath, [BIN, 'test', '--config', config, '--watch', cases], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  const seen = () => {
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    seen();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    seen();
  });
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!done()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what}: never came\nstdout: ${stdout}\nstderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  };

  await until(() => /^ok: 1 passed, 0 failed/m.test(stdout) && /watching \d+ files/.test(stderr), 'the first run and the watch');
  await writeFile(cases, caseFile('up')); // now the expectation is wrong
  await until(() => /^FAILED: 0 passed, 1 failed/m.test(stdout), 'a second run after the test file changed');
  assert.equal(stdout.match(/^(ok|FAILED): /gm)?.length, 2, 'one run per change (debounced)');

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 1, "the last run's code");
});
