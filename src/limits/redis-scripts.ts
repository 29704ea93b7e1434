import { createHash } from 'node:crypto';

/**
 * The Lua scripts the Redis backend runs with EVALSHA (EVAL when the server answers NOSCRIPT): each is one
 * round trip and atomic, so replicas sharing a bucket never interleave a read and a write.
 */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * GCRA, the same arithmetic as gcra.ts. KEYS[1]: the bucket; ARGV: now (ms), interval (ms), burst.
 * Returns {1, "0"} when admitted (the new TAT stored, expiring when the bucket is back at rest), or
 * {0, retry-after ms}. Times come from the gateway's clock: replicas need synchronised clocks (NTP), as any
 * shared rate limiter does; a skew of s ms shifts one replica's view of the bucket by s.
 */
export const RATE_SCRIPT = script(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
if now < allow_at then return {0, tostring(allow_at - now)} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, '0'}
`);

/**
 * One concurrency lease. KEYS[1]: a sorted set of leases scored by their expiry; ARGV: now (ms), lease ttl
 * (ms), max, lease id. Expired leases (a crashed replica's) are dropped first. Returns 1 when leased, else 0.
 */
export const LEASE_SCRIPT = script(`
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`);

/**
 * Every matched rule's rate, then every lease, of one request: RATE_SCRIPT then LEASE_SCRIPT rule by rule, in
 * one round trip. KEYS: per rule, its rate key and its lease set. ARGV: now (ms), lease ttl (ms), lease id, then
 * per rule its interval (ms) and burst (-1: no rate), max in flight (-1: no concurrency) and how many rate tokens
 * to take at most (the local allowance's draw, local-allowance.ts; 1 without one). Returns {1, 0, "0", taken per
 * rule...} when admitted, where a rule's rate gave between 1 and its want (as many as conform now: the bucket's
 * TAT moves on by that many intervals; 0 for a rule without rate); {0, i, retry-after ms, taken per rule before
 * i...} when rule i's rate refuses (rates before it stay taken); {0, -i, "0", taken per rule...} when rule i's
 * leases are all taken (the leases taken before it are given back, the rates stay taken).
 */
export const ADMIT_SCRIPT = script(`
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local lease = ARGV[3]
local n = #KEYS / 2
local answer = {1, 0, '0'}
for i = 1, n do
  local interval = tonumber(ARGV[4 * i])
  local took = 0
  if interval >= 0 then
    local burst = tonumber(ARGV[1 + 4 * i])
    local tat = tonumber(redis.call('GET', KEYS[2 * i - 1]))
    if tat == nil or tat < now then tat = now end
    local allow_at = tat - interval * (burst - 1)
    if now < allow_at then
      answer[1] = 0
      answer[2] = i
      answer[3] = tostring(allow_at - now)
      return answer
    end
    took = 1
    local want = tonumber(ARGV[3 + 4 * i])
    if want > 1 and interval > 0 then took = math.min(want, math.max(1, math.floor((now - tat) / interval + burst))) end
    local new_tat = tat + interval * took
    redis.call('SET', KEYS[2 * i - 1], tostring(new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
  end
  answer[3 + i] = took
end
for i = 1, n do
  local max = tonumber(ARGV[2 + 4 * i])
  if max >= 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2 * i], '-inf', now)
    if redis.call('ZCARD', KEYS[2 * i]) >= max then
      for j = 1, i - 1 do
        if tonumber(ARGV[2 + 4 * j]) >= 0 then redis.call('ZREM', KEYS[2 * j], lease) end
      end
      answer[1] = 0
      answer[2] = -i
      return answer
    end
    redis.call('ZADD', KEYS[2 * i], now + ttl, lease)
    redis.call('PEXPIRE', KEYS[2 * i], ttl)
  end
end
return answer
`);
