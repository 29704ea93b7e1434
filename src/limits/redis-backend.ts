import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisLimitsConfig } from '../config/sections/limits.js';
import {
  LimitBackendError,
  type AdmissionCheck,
  type AdmissionDecision,
  type BudgetAmounts,
  type LimitBackend,
  type RateDecision,
  type Slot,
} from './backend.js';
import type { RateLimit } from './gcra.js';
import { createLocalAllowance, type LocalAllowance } from './local-allowance.js';
import { ADMIT_SCRIPT, LEASE_SCRIPT, RATE_SCRIPT, type RedisScript } from './redis-scripts.js';

/**
 * Counters in Redis, shared by every worker and replica that uses the same `url` and `key_prefix`.
 *
 * Never waits on Redis: each call is bounded by `timeout` (ioredis' commandTimeout) and fails at once while
 * disconnected (no offline queue, no retries per request); ioredis reconnects in the background. A failure
 * rejects with LimitBackendError and the limiter applies `on_backend_error`. Concurrency uses leases that
 * expire after `lease_ttl`: a replica that dies holding slots frees them then; a release that cannot reach
 * Redis leaves its lease to expire the same way. With `local_allowance`, rates are admitted from tokens drawn
 * ahead (local-allowance.ts). Commands of one turn of the event loop leave in one write (auto-pipelining).
 */
export interface RedisBackendOptions {
  readonly logger: Logger;
  /** Report not-ready while disconnected (set when `on_backend_error = "deny"`). */
  readonly reportReadiness: boolean;
}

export async function createRedisBackend(
  config: RedisLimitsConfig,
  options: RedisBackendOptions,
): Promise<LimitBackend & { start(): Promise<void> }> {
  const { logger } = options;
  // Loaded only when configured: most gateways never use Redis, and the client is as large as undici.
  const { Redis } = await import('ioredis');
  const client: RedisClient = new Redis(config.url, {
    commandTimeout: config.timeout,
    connectTimeout: config.connect_timeout,
    enableOfflineQueue: false,
    // Commands issued in one turn of the event loop (concurrent requests' scripts, their releases) leave in one write.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    // Reconnect in the background: quickly at first, then every second.
    retryStrategy: (attempt: number) => Math.min(attempt * 50, 1000),
    lazyConnect: true,
  });
  let wasReady = false;
  let closing = false;
  client.on('ready', () => {
    wasReady = true;
    logger.info({ backend: 'redis' }, 'limits backend connected');
  });
  client.on('error', (error: Error) => {
    // Emitted on every failed reconnect: log the first after a connection was up, then stay quiet.
    if (wasReady && !closing) logger.warn({ backend: 'redis', err: error.message }, 'limits backend unreachable; reconnecting');
    wasReady = false;
  });
  const processId = randomUUID();
  let leaseCounter = 0;
  const rateKey = (ruleId: string, key: string): string => `${config.key_prefix}${ruleId}:rate:${key}`;
  const leaseSetKey = (ruleId: string, key: string): string => `${config.key_prefix}${ruleId}:inflight:${key}`;
  const budgetKey = (ruleId: string, key: string, windowStartMs: number): string =>
    `${config.key_prefix}${ruleId}:budget:${key}:${windowStartMs}`;

  const allowance =
    config.local_allowance === undefined ? undefined : createLocalAllowance(config.local_allowance, config.local_allowance_ttl);

  const run = (script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> =>
    runScript(client, script, keys, args);

  /**
   * Leases freed in one turn of the event loop leave together, one ZREM per lease set (concurrent responses
   * that end together cost one command, not one each). Not awaited by any response; an unreachable Redis lets
   * the leases expire after lease_ttl.
   */
  const releases = new Map<string, string[]>();
  function releaseLease(setKey: string, lease: string): void {
    // The first lease of the turn schedules the send: the map is empty between sends.
    if (releases.size === 0) setImmediate(sendReleases);
    const leases = releases.get(setKey);
    if (leases === undefined) releases.set(setKey, [lease]);
    else leases.push(lease);
  }
  function sendReleases(): void {
    for (const [setKey, leases] of releases) client.zrem(setKey, ...leases).catch(ignore);
    releases.clear();
  }

  /**
   * One script call for a request: the rate of each check whose `wants` is at least 1 (that many tokens at most;
   * undefined: 1 each), every lease. `taken`: the tokens each rate gave (the request spends one of each).
   */
  async function admitRemote(
    checks: readonly AdmissionCheck[],
    nowMs: number,
    wants: readonly number[] | undefined,
  ): Promise<AdmissionDecision & { readonly taken: readonly number[] }> {
    const lease = `${processId}:${(leaseCounter += 1)}`;
    const keys: string[] = [];
    const args: (string | number)[] = [nowMs, config.lease_ttl, lease];
    checks.forEach((check, i) => {
      keys.push(rateKey(check.ruleId, check.key), leaseSetKey(check.ruleId, check.key));
      const want = wants === undefined ? 1 : (wants[i] as number);
      const rate = want > 0 ? check.rate : undefined;
      args.push(rate?.intervalMs ?? -1, rate?.burst ?? -1, check.maxInFlight ?? -1, want);
    });
    const reply = arrayReply(await run(ADMIT_SCRIPT, keys, args)) as [number, number, string, ...number[]];
    const [admitted, index, retryAfterMs] = reply;
    const taken = reply.slice(3) as number[];
    if (admitted !== 1) {
      const limit = index > 0 ? 'rate' : 'concurrency';
      return { admitted: false, index: Math.abs(index) - 1, limit, retryAfterMs: Number(retryAfterMs), taken };
    }
    const leased = checks.filter((check) => check.maxInFlight !== undefined).map((check) => leaseSetKey(check.ruleId, check.key));
    if (leased.length === 0) return { admitted: true, release: () => {}, taken };
    let released = false;
    return {
      admitted: true,
      taken,
      release() {
        if (released) return;
        released = true;
        for (const setKey of leased) releaseLease(setKey, lease);
      },
    };
  }

  /**
   * `local_allowance`: each rate from the tokens held here when there are (drawn again in the background at
   * half), else drawn with the request's own script call: the request's token and up to the allowance more.
   * Leases are per request, as without it. Only a request that holds every rate locally and needs no lease
   * admits without Redis.
   */
  async function admitWithAllowance(checks: readonly AdmissionCheck[], nowMs: number): Promise<AdmissionDecision> {
    const held = allowance as LocalAllowance;
    const buckets = checks.map((check) => rateKey(check.ruleId, check.key));
    const local = checks.map((check, i) => (check.rate === undefined ? undefined : held.take(buckets[i] as string, nowMs)));
    let remote = false;
    checks.forEach((check, i) => {
      if (check.maxInFlight !== undefined || (check.rate !== undefined && local[i] === undefined)) remote = true;
      else if (check.rate !== undefined && held.needsRefill(buckets[i] as string, nowMs))
        drawInBackground(check, buckets[i] as string, nowMs);
    });
    if (!remote) return ADMITTED_LOCALLY;
    const wants = checks.map((check, i) =>
      check.rate === undefined || local[i] !== undefined ? 0 : 1 + held.reserve(buckets[i] as string, nowMs),
    );
    let decision: Awaited<ReturnType<typeof admitRemote>> | undefined;
    try {
      decision = await admitRemote(checks, nowMs, wants);
      return decision;
    } finally {
      wants.forEach((want, i) => {
        if (want > 0) held.settle(buckets[i] as string, want - 1, Math.max(0, (decision?.taken[i] ?? 0) - 1), nowMs);
      });
      // Tokens taken here for rules the request never reached (refused by an earlier one, or Redis failed).
      const reached = decision === undefined ? -1 : decision.admitted || decision.limit === 'concurrency' ? checks.length : decision.index;
      local.forEach((token, i) => {
        if (token !== undefined && i > reached) held.giveBack(token, nowMs);
      });
    }
  }

  /** Tops up a bucket's allowance; the request that noticed it is low does not wait. */
  function drawInBackground(check: AdmissionCheck, bucket: string, nowMs: number): void {
    const held = allowance as LocalAllowance;
    const room = held.reserve(bucket, nowMs);
    if (room === 0 || check.rate === undefined) {
      held.settle(bucket, room, 0, nowMs);
      return;
    }
    const args = [nowMs, config.lease_ttl, '', check.rate.intervalMs, check.rate.burst, -1, room];
    run(ADMIT_SCRIPT, [bucket, leaseSetKey(check.ruleId, check.key)], args)
      .then(arrayReply)
      .then(
        (reply) => {
          const [admitted, , , taken] = reply as [number, number, string, number];
          held.settle(bucket, room, admitted === 1 ? Number(taken) : 0, nowMs);
        },
        () => held.settle(bucket, room, 0, nowMs),
      );
  }

  return {
    kind: 'redis',
    async takeRate(ruleId: string, key: string, limit: RateLimit, nowMs: number): Promise<RateDecision> {
      const reply = (await run(RATE_SCRIPT, [rateKey(ruleId, key)], [nowMs, limit.intervalMs, limit.burst])) as [number, string];
      return { allowed: reply[0] === 1, retryAfterMs: Number(reply[1]) };
    },
    async acquireSlot(ruleId: string, key: string, max: number, nowMs: number): Promise<Slot | undefined> {
      const setKey = leaseSetKey(ruleId, key);
      const lease = `${processId}:${(leaseCounter += 1)}`;
      const granted = await run(LEASE_SCRIPT, [setKey], [nowMs, config.lease_ttl, max, lease]);
      if (granted !== 1) return undefined;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          releaseLease(setKey, lease);
        },
      };
    },
    admit: allowance === undefined ? (checks, nowMs) => admitRemote(checks, nowMs, undefined) : admitWithAllowance,
    async budgetSpent(ruleId: string, key: string, windowStartMs: number): Promise<BudgetAmounts> {
      try {
        const [samples, seconds] = await client.hmget(budgetKey(ruleId, key, windowStartMs), 'samples', 'seconds');
        return { samples: Number(samples ?? 0), seconds: Number(seconds ?? 0) };
      } catch (error) {
        throw new LimitBackendError(`redis: ${(error as Error).message}`, { cause: error });
      }
    },
    async spendBudget(ruleId: string, key: string, windowStartMs: number, windowMs: number, amounts: BudgetAmounts): Promise<void> {
      const hash = budgetKey(ruleId, key, windowStartMs);
      // One round trip; the window's key expires a minute after the window (clock skew between replicas).
      const batch = client
        .multi()
        .hincrbyfloat(hash, 'samples', amounts.samples)
        .hincrbyfloat(hash, 'seconds', amounts.seconds)
        .pexpire(hash, windowMs + 60_000);
      try {
        await batch.exec();
      } catch (error) {
        throw new LimitBackendError(`redis: ${(error as Error).message}`, { cause: error });
      }
    },
    ...(options.reportReadiness
      ? { readiness: { name: 'limits_backend', notReadyReason: () => (client.status === 'ready' ? undefined : `redis ${client.status}`) } }
      : {}),
    /** The first connection, bounded by connect_timeout; a Redis that is down does not stop the start. */
    async start() {
      await client.connect().catch((error: unknown) => {
        logger.warn(
          { backend: 'redis', err: (error as Error).message },
          'limits backend not reachable at start; reconnecting in the background',
        );
      });
    },
    async close() {
      closing = true;
      sendReleases();
      client.disconnect();
    },
  };
}

function ignore(): void {}

/** A script's answer is a list; anything else (a reply that is not this call's) is a backend failure, not a 500. */
function arrayReply(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new LimitBackendError(`redis: unexpected reply ${JSON.stringify(reply)}`);
  return reply;
}

/** Admitted from the local allowance: no lease to give back. */
const ADMITTED_LOCALLY: Promise<AdmissionDecision> = Promise.resolve(Object.freeze({ admitted: true as const, release: ignore }));

/** Runs a script by its digest, loading it on the first NOSCRIPT; any failure is a LimitBackendError. */
async function runScript(
  client: RedisClient,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    try {
      return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await client.eval(script.source, keys.length, ...keys, ...args);
    }
  } catch (error) {
    throw new LimitBackendError(`redis: ${(error as Error).message}`, { cause: error });
  }
}
