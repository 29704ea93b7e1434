import pino from 'pino';
import { Registry } from 'prom-client';
import { limitsSchema } from '../src/config/sections/limits.js';
import { createIdentity } from '../src/identity/identity.js';
import { createLimits, type LimitsRuntime } from '../src/limits/create-limiter.js';
import type { LimitSubject } from '../src/limits/rules.js';
import { startRedis } from '../test/servers/redis.js';
import { median } from './cpu-median.js';

/**
 * What the limiter costs per admitted request in this process (issue #19), the backends side by side: memory,
 * Redis (one script call per request, the release not awaited), Redis with `local_allowance = 1000`; with the
 * bench's `never-hit` rule (rate and concurrency far above the load), and with the same rule without
 * concurrency (`… rate`), where the allowance leaves Redis out of most requests. `CONCURRENCY` requests are in
 * flight at once (as wrk's connections are); each admits, waits a macrotask (the upstream), releases. Rounds
 * alternate the backends; process CPU (user + system) per admitted request, median of the rounds. redis-server
 * runs in its own process (its CPU is not counted), started here on a free port.
 *
 *   node --import tsx bench/limits-cpu.ts [requests-per-round] [rounds] [concurrency]
 *   ONLY=redis node --cpu-prof --import tsx bench/limits-cpu.ts   (one variant, to profile it)
 */
const REQUESTS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const CONCURRENCY = Number(process.argv[4] ?? 32);

const RULE = { name: 'never-hit', rate: 10_000_000, burst: 10_000_000, concurrency: 1_000_000 };
/** The same without concurrency: a lease is one round trip per request even with a local allowance. */
const RATE_RULE = { name: 'never-hit', rate: 10_000_000, burst: 10_000_000 };
const redis = await startRedis();
const logger = pino({ level: 'silent' });
const redisSection = { url: redis.url, timeout: '1s' };

const ALL_VARIANTS: Record<string, Record<string, unknown>> = {
  memory: { backend: 'memory', rules: [RULE] },
  redis: { backend: 'redis', redis: redisSection, rules: [RULE] },
  'redis local': { backend: 'redis', redis: { ...redisSection, local_allowance: 1000 }, rules: [RULE] },
  'memory rate': { backend: 'memory', rules: [RATE_RULE] },
  'redis rate': { backend: 'redis', redis: redisSection, rules: [RATE_RULE] },
  'redis local rate': { backend: 'redis', redis: { ...redisSection, local_allowance: 1000 }, rules: [RATE_RULE] },
};

const VARIANTS = process.env.ONLY ? { [process.env.ONLY]: ALL_VARIANTS[process.env.ONLY] as Record<string, unknown> } : ALL_VARIANTS;

async function build(config: Record<string, unknown>): Promise<LimitsRuntime> {
  const section = limitsSchema.parse(config);
  const runtime = await createLimits(section, { logger, registry: new Registry(), now: Date.now });
  await runtime.start();
  return runtime;
}

const identity = createIdentity({ subject: 'alice', tenants: ['team-a'], policy: undefined, authenticator: 'static-token' });
const subject: LimitSubject = {
  identity,
  tenants: ['team-a'],
  upstream: 'raw',
  endpoint: { name: 'prometheus.labels', scope: 'read', query: undefined, writeFormat: undefined },
};

async function round(runtime: LimitsRuntime): Promise<number> {
  let left = REQUESTS;
  let admitted = 0;
  const worker = async () => {
    while (left > 0) {
      left -= 1;
      const admission = await runtime.limiter.admit(subject, undefined);
      admitted += 1;
      await new Promise((resolve) => setImmediate(resolve));
      admission.release();
    }
  };
  const start = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / admitted;
}

const runtimes = new Map<string, LimitsRuntime>();
for (const [name, config] of Object.entries(VARIANTS)) runtimes.set(name, await build(config));
const results = new Map<string, number[]>([...runtimes.keys()].map((name) => [name, []]));
for (const runtime of runtimes.values()) await round(runtime); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, runtime] of runtimes) results.get(name)?.push(await round(runtime));
}
for (const [name, values] of results) {
  console.log(
    `${name.padEnd(14)} ${median(values).toFixed(1).padStart(7)} µs/admitted  (rounds: ${values.map((v) => v.toFixed(1)).join(' ')})`,
  );
}
for (const runtime of runtimes.values()) await runtime.limiter.close();
await redis.stop();
