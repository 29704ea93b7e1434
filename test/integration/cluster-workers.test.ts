import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort } from '../servers/free-port.js';
import { makeTempDir, startManagedProcess, type ManagedProcess } from '../servers/managed-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { SEMI_SPACE_FLAG } from '../../src/server/v8-young-generation.js';

const CLI = new URL('../../bin/scopegate.js', import.meta.url).pathname;
const TOKEN = 'cluster-test-token';

interface Cluster {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly process: ManagedProcess;
}

/** The real CLI with `proxy.workers = 2`, static tokens from a file, in front of a recording upstream (stopped if the cluster fails to start). */
async function startCluster(upstream: RecordingUpstream): Promise<Cluster> {
  const dir = await makeTempDir('cluster');
  const [proxyPort, adminPort] = [await findFreePort(), await findFreePort()];
  await writeFile(join(dir, 'tokens.yaml'), `${TOKEN}: {tenant: team-a, name: cluster-test}\n`);
  const configPath = join(dir, 'scopegate.toml');
  await writeFile(
    configPath,
    [
      'log_level = "warn"',
      'backend_type = "file"',
      `[file]\npath = "${join(dir, 'tokens.yaml')}"`,
      `[proxy]\nlisten = "127.0.0.1:${proxyPort}"\nworkers = 2\nshutdown_timeout = "5s"`,
      `[[proxy.upstreams]]\nmatch = ".*"\nupstream = "${upstream.url}"\ntype = "raw"`,
      `[admin]\nlisten = "127.0.0.1:${adminPort}"`,
      '',
    ].join('\n'),
  );
  const managed = startManagedProcess(process.execPath, [CLI, 'serve', '--config', configPath], dir);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  // Two workers each load the sources through tsx in a checkout: give a loaded machine room. The upstream is
  // stopped when the cluster never gets ready: a listening upstream would keep the test file from exiting.
  await managed.waitUntilOk(`${adminUrl}/ready`, 90_000).catch(async (error: unknown) => {
    await upstream.stop();
    throw error;
  });
  return { proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl, process: managed };
}

/**
 * Pids of a process's worker children, from /proc (Linux): the children that run the CLI, not the esbuild service
 * tsx starts when a checkout runs the sources.
 */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const isChild = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        return isChild && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('scopegate.js');
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, text: await response.text() };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  // Polls the cluster's own state, with its own bound: a loop left polling after the test runner's timeout would
  // keep the file's process alive, and the whole suite would hang instead of failing.
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the cluster did not reach the expected state within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('workers = 2 serves requests, /metrics sums the workers, SIGTERM drains and exits 0', async () => {
  const upstream = await startRecordingUpstream();
  const cluster = await startCluster(upstream);
  try {
    for (let i = 0; i < 20; i++) {
      const { status } = await get(`${cluster.proxyUrl}/api/v1/query?query=up`, { authorization: `Bearer ${TOKEN}` });
      assert.equal(status, 200);
    }
    assert.equal(upstream.requests.length, 20);
    assert.ok(upstream.requests.every((r) => r.headers['x-scope-orgid'] === 'team-a'));
    assert.equal((await get(`${cluster.proxyUrl}/`)).status, 401);

    const metrics = await get(`${cluster.adminUrl}/metrics`);
    const served = /scopegate_requests_total\{[^}]*code="200"[^}]*\} (\d+)/.exec(metrics.text);
    assert.equal(Number(served?.[1]), 20, 'the aggregated counter holds every worker’s requests');
    assert.match(metrics.text, /scopegate_cluster_worker_restarts_total 0/);
    assert.equal((await get(`${cluster.adminUrl}/ready`)).status, 200);
    // The proxy port does not answer admin paths: they go to the upstream's routing like any other path.
    assert.equal((await get(`${cluster.proxyUrl}/metrics`)).status, 401);

    const child = cluster.process.child;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  } finally {
    await cluster.process.stop();
    await upstream.stop();
  }
});

test('a crashed worker is restarted and the cluster becomes ready again', { skip: process.platform !== 'linux' }, async () => {
  const upstream = await startRecordingUpstream();
  const cluster = await startCluster(upstream);
  try {
    const primaryPid = cluster.process.child.pid as number;
    const [victim] = childPids(primaryPid);
    assert.ok(victim, 'a worker process');
    process.kill(victim, 'SIGKILL');
    await waitFor(async () => /scopegate_cluster_worker_restarts_total 1/.test((await get(`${cluster.adminUrl}/metrics`)).text));
    await waitFor(async () => (await get(`${cluster.adminUrl}/ready`)).status === 200);
    assert.equal(childPids(primaryPid).length, 2);
    const { status } = await get(`${cluster.proxyUrl}/api/v1/labels`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(status, 200);
  } finally {
    await cluster.process.stop();
    await upstream.stop();
  }
});

/** One process's environment, from /proc (Linux). */
function environmentOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

test('the young-generation cap reaches every worker, and the primary where Node can re-exec; glibc tuning is opt-in', {
  skip: process.platform !== 'linux',
}, async () => {
  const upstream = await startRecordingUpstream();
  const cluster = await startCluster(upstream);
  const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  try {
    const primaryPid = cluster.process.child.pid as number;
    const workers = childPids(primaryPid);
    assert.equal(workers.length, 2);
    for (const pid of workers) {
      assert.ok(commandLine(pid).includes(SEMI_SPACE_FLAG), commandLine(pid).join(' '));
      assert.equal(environmentOf(pid).has('MALLOC_TRIM_THRESHOLD_'), false);
    }
    // The primary re-executed itself in place (same pid) where Node has process.execve (22.15+).
    const canReexec = typeof (process as { execve?: unknown }).execve === 'function';
    assert.equal(commandLine(primaryPid).includes(SEMI_SPACE_FLAG), canReexec);
  } finally {
    await cluster.process.stop();
    await upstream.stop();
  }
});
