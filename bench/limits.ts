import { createConnection } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnPinned, stopChild, type BenchProcess, type Placement } from './processes.js';

/**
 * The limiter's cost (issue #14): the raw route with one `[limits]` rule that matches every request and is
 * never hit (rate and concurrency far above the load), against the memory backend and against a local Redis
 * (redis-server on 127.0.0.1, no persistence, on the proxies' CPU). Compare `scopegate limits` with
 * `scopegate`'s row: the memory backend's price; `scopegate limits redis`: one Redis round trip per request
 * (the rate and the concurrency lease in one script), and the lease's release, which the response does not wait for.
 * `scopegate limits redis local`: `local_allowance = 1000` and a rule with a rate only (a concurrency lease is
 * still one round trip per request, with or without an allowance): Redis is asked once per 500 requests.
 */
export const LIMITS_TARGETS = ['scopegate limits', 'scopegate limits redis', 'scopegate limits redis local'] as const;

/** The `[limits]` TOML appended to the gateway's config; `localAllowance`: that allowance, and a rate-only rule. */
export function limitsToml(redisUrl?: string, localAllowance?: number): string[] {
  return [
    '[limits]',
    `backend = "${redisUrl === undefined ? 'memory' : 'redis'}"`,
    ...(redisUrl === undefined ? [] : ['[limits.redis]', `url = "${redisUrl}"`, 'timeout = "50ms"']),
    ...(localAllowance === undefined ? [] : [`local_allowance = ${localAllowance}`]),
    '[[limits.rules]]',
    'name = "never-hit"',
    'rate = 10000000',
    'burst = 10000000',
    ...(localAllowance === undefined ? ['concurrency = 1000000'] : []),
    '',
  ];
}

/** redis-server on a free port, pinned like the proxies; stopped with the run. */
export async function startBenchRedis(placement: Placement): Promise<BenchProcess & { readonly url: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-bench-redis-'));
  const port = await freePort();
  const child = spawnPinned(
    placement,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error('redis-server did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { pid: child.pid as number, origin: `redis://127.0.0.1:${port}`, url: `redis://127.0.0.1:${port}`, stop };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}
