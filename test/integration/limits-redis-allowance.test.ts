import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Registry } from 'prom-client';
import { limitsSchema } from '../../src/config/sections/limits.js';
import { createIdentity } from '../../src/identity/identity.js';
import { createLimits, type LimitsRuntime } from '../../src/limits/create-limiter.js';
import { LimitRefusal } from '../../src/limits/limit-errors.js';
import type { LimitSubject } from '../../src/limits/rules.js';
import { startRedis, type RedisServer } from '../servers/redis.js';

// Issue #19: `[limits.redis] local_allowance`. Two limiters (two gateways' worth: each its own Redis client and
// allowance) against one real redis-server, on one injected clock. What is pinned: together they never admit
// more than docs/configuration.md's bound; a client is refused while tokens sit unused in the other gateway (the
// documented price); unused tokens lapse after local_allowance_ttl and stay spent; Redis down: held tokens are
// still spent, then on_backend_error decides as without an allowance.
let redis: RedisServer;
const runtimes: LimitsRuntime[] = [];
let nowMs = Date.UTC(2026, 11, 6, 12);
const logger = pino({ level: 'silent' });

const subject: LimitSubject = {
  identity: createIdentity({ subject: 'alice', tenants: ['team-a'], policy: undefined, authenticator: 'static-token' }),
  tenants: ['team-a'],
  upstream: 'raw',
  endpoint: { name: 'prometheus.labels', scope: 'read', query: undefined, writeFormat: undefined },
};

async function limiter(
  server: RedisServer,
  keyPrefix: string,
  rule: Record<string, unknown>,
  redisOptions: Record<string, unknown>,
): Promise<LimitsRuntime> {
  const section = limitsSchema.parse({
    backend: 'redis',
    redis: { url: server.url, timeout: '1s', connect_timeout: '1s', key_prefix: keyPrefix, ...redisOptions },
    rules: [{ name: 'r', ...rule }],
  });
  const runtime = await createLimits(section, { logger, registry: new Registry(), now: () => nowMs });
  await runtime.start();
  runtimes.push(runtime);
  return runtime;
}

/** 'ok' (released at once), or the refusal's code. */
async function attempt(runtime: LimitsRuntime): Promise<string> {
  try {
    (await runtime.limiter.admit(subject, undefined)).release();
    return 'ok';
  } catch (error) {
    if (error instanceof LimitRefusal) return error.code;
    throw error;
  }
}

async function attempts(runtime: LimitsRuntime, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await attempt(runtime));
  return out;
}

const count = (codes: readonly string[], code: string) => codes.filter((c) => c === code).length;

/** Scripts Redis has run (EVALSHA and EVAL calls), from INFO commandstats. */
async function scriptCalls(server: RedisServer): Promise<number> {
  const info = await server.command('INFO commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const runtime of runtimes) await runtime.limiter.close();
  await redis.stop();
});

test('a client is refused while tokens sit unused in the other gateway; together never more than the burst', async () => {
  const rule = { rate: 1, burst: 10 };
  const [one, two] = [
    await limiter(redis, 'held:', rule, { local_allowance: 5 }),
    await limiter(redis, 'held:', rule, { local_allowance: 5 }),
  ];
  // One draws its request's token and 5 more; the other gets the 4 left, then is refused with 5 unused in one.
  assert.deepEqual(await attempts(one!, 1), ['ok']);
  const second = await attempts(two!, 6);
  assert.equal(count(second, 'ok'), 4);
  assert.deepEqual(second.slice(4), ['rate_limited', 'rate_limited']);
  // One spends what it holds without Redis, and no more.
  const first = await attempts(one!, 7);
  assert.deepEqual(first.slice(0, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
  assert.deepEqual(first.slice(5), ['rate_limited', 'rate_limited']);
});

test('unused tokens lapse after local_allowance_ttl and stay spent', async () => {
  const rule = { rate: 1, burst: 10 };
  const one = await limiter(redis, 'lapse:', rule, { local_allowance: 5, local_allowance_ttl: '250ms' });
  assert.deepEqual(await attempts(one, 1), ['ok']);
  nowMs += 300;
  // The 5 held lapsed (spent in Redis: TAT 6 s ahead); Redis has 4 conforming tokens now (10 − 6 + 0.3).
  const after_ = await attempts(one, 6);
  assert.equal(count(after_, 'ok'), 4);
  assert.deepEqual(after_.slice(4), ['rate_limited', 'rate_limited']);
});

test('two gateways drawing in the background stay within burst + rate × (window + ttl) in every window', async () => {
  const rule = { rate: 10, burst: 20 };
  // deny: a call that timed out on a loaded machine must not count as admitted (allow would fail open).
  const options = { local_allowance: 10, local_allowance_ttl: '500ms', on_backend_error: 'deny' };
  const gateways = [await limiter(redis, 'bound:', rule, options), await limiter(redis, 'bound:', rule, options)];
  const admittedAt: number[] = [];
  const start = nowMs;
  const realStart = Date.now();
  for (let step = 0; step < 200; step++) {
    // 10 ms a step, never behind real time: Redis expires a bucket's key after its TAT in its own (real) time.
    nowMs = start + Math.max(step * 10, Date.now() - realStart);
    const codes = await Promise.all(gateways.flatMap((g) => [attempt(g), attempt(g), attempt(g)]));
    for (const code of codes) if (code === 'ok') admittedAt.push(nowMs - start);
    // Let background draws answer between steps, as they would between requests.
    await new Promise((resolve) => setImmediate(resolve));
  }
  // A burst of 20, then 10/s for 2 s: about 40 admitted, never past the bound.
  assert.ok(admittedAt.length >= 30, `admitted ${admittedAt.length}`);
  for (const from of new Set(admittedAt)) {
    for (const to of new Set(admittedAt)) {
      if (to < from) continue;
      const inWindow = admittedAt.filter((t) => t >= from && t <= to).length;
      const bound = 20 + Math.floor((to - from + 500) / 100) + 1;
      assert.ok(inWindow <= bound, `${inWindow} admitted in [${from}, ${to}] ms, bound ${bound}`);
    }
  }
});

test('under the limit, most requests never reach Redis', async () => {
  const one = await limiter(redis, 'quiet:', { rate: 1_000_000, burst: 1_000_000 }, { local_allowance: 100 });
  assert.deepEqual(await attempts(one, 1), ['ok']);
  const before_ = await scriptCalls(redis);
  const codes: string[] = [];
  for (let i = 0; i < 10; i++) {
    codes.push(...(await attempts(one, 100)));
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(count(codes, 'ok'), 1000);
  const calls = (await scriptCalls(redis)) - before_;
  assert.ok(calls <= 40, `${calls} script calls for 1000 requests`);
});

test('Redis down: held tokens are still spent, then on_backend_error decides (deny: 503, allow: admitted)', async () => {
  const own = await startRedis();
  try {
    const rule = { rate: 1, burst: 10 };
    const deny = await limiter(own, 'down:', rule, { local_allowance: 3, on_backend_error: 'deny' });
    const allow = await limiter(own, 'down2:', rule, { local_allowance: 3, on_backend_error: 'allow' });
    assert.deepEqual(await attempts(deny, 1), ['ok']);
    assert.deepEqual(await attempts(allow, 1), ['ok']);
    await own.stop();
    assert.deepEqual(await attempts(deny, 5), ['ok', 'ok', 'ok', 'limits_unavailable', 'limits_unavailable']);
    assert.deepEqual(await attempts(allow, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
  } finally {
    await own.stop();
  }
});
