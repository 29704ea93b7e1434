import type { Redis as RedisClient } from 'ioredis';
import { LimitBackendError } from './backend.js';
import { ADMIT_SCRIPT } from './redis-scripts.js';

/**
 * What the Redis backend sends in one turn of the event loop, in one write: the admissions of every request that
 * asked (one ADMIT_SCRIPT call holding them all, each evaluated in turn, atomically), and the leases freed (one
 * ZREM per lease set). Concurrent requests then cost one command, one reply and one socket write together, not
 * one each. The batch leaves in the loop's check phase (setImmediate), so a request that arrived in this turn's
 * poll phase waits for no later turn.
 */
export interface RedisBatch {
  /** One request's part of ADMIT_SCRIPT (its keys; its ARGV block from its number of rules on): its answer. */
  admit(keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** Not awaited by anyone; an unreachable Redis lets the lease expire after lease_ttl. */
  release(setKey: string, lease: string): void;
  /** Sends what is waiting now (at close). */
  flush(): void;
}

interface Waiter {
  resolve(answer: unknown): void;
  reject(error: unknown): void;
}

export function createRedisBatch(client: RedisClient): RedisBatch {
  let keys: string[] = [];
  let args: (string | number)[] = [0];
  let waiters: Waiter[] = [];
  const releases = new Map<string, string[]>();
  let scheduled = false;

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    if (waiters.length === 0 && releases.size === 0) return;
    const pipeline = client.pipeline();
    const admitting = waiters;
    const admitKeys = keys;
    const admitArgs = args;
    if (admitting.length > 0) {
      admitArgs[0] = admitting.length;
      pipeline.evalsha(ADMIT_SCRIPT.sha1, admitKeys.length, ...admitKeys, ...admitArgs);
      keys = [];
      args = [0];
      waiters = [];
    }
    for (const [setKey, leases] of releases) pipeline.zrem(setKey, ...leases);
    releases.clear();
    pipeline.exec().then(
      (results) => {
        if (admitting.length === 0) return;
        const [error, answers] = results?.[0] ?? [new Error('no reply'), undefined];
        if (error === null) return answer(admitting, answers);
        if (!error.message.startsWith('NOSCRIPT')) return fail(admitting, error);
        client.eval(ADMIT_SCRIPT.source, admitKeys.length, ...admitKeys, ...admitArgs).then(
          (reply) => answer(admitting, reply),
          (retryError: unknown) => fail(admitting, retryError),
        );
      },
      (error: unknown) => fail(admitting, error),
    );
  }

  return {
    admit(requestKeys, requestArgs) {
      for (const key of requestKeys) keys.push(key);
      for (const arg of requestArgs) args.push(arg);
      schedule();
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    release(setKey, lease) {
      const leases = releases.get(setKey);
      if (leases === undefined) releases.set(setKey, [lease]);
      else leases.push(lease);
      schedule();
    },
    flush,
  };
}

function answer(waiters: readonly Waiter[], answers: unknown): void {
  const list = answers as unknown[];
  for (let i = 0; i < waiters.length; i++) (waiters[i] as Waiter).resolve(list[i]);
}

function fail(waiters: readonly Waiter[], error: unknown): void {
  const failure = new LimitBackendError(`redis: ${(error as Error).message}`, { cause: error });
  for (const waiter of waiters) waiter.reject(failure);
}
