import { z } from 'zod';
import { durationMs } from '../duration.js';

/**
 * `[limits]`: per-identity and per-tenant request rate, concurrency, query cost and write size.
 * ```toml
 * [limits]
 * backend = "redis"                 # default "memory" (per process)
 * [limits.redis]
 * url = "redis://redis:6379"
 * timeout = "10ms"                  # per call; then on_backend_error decides
 * on_backend_error = "allow"        # or "deny" (503, and /ready reports Redis)
 * [[limits.rules]]
 * name = "per-token"
 * per = "identity"                  # one bucket per identity; "tenant": one per tenant
 * endpoints = ["read"]              # read / write / admin, or endpoint names (prometheus.query_range)
 * rate = 20                         # requests per second
 * burst = 40
 * concurrency = 8
 * max_range = "32d"
 * ```
 * Every rule whose matchers all match applies; absent matchers match anything.
 */

const name = z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 characters of [a-zA-Z0-9_.-]');
const nonEmptyList = z.array(z.string().min(1)).min(1);
const ENDPOINT_CLASSES = ['read', 'write', 'admin'] as const;
/** A class, or an endpoint name from a preset table: `prometheus.query_range`, `loki.push`. */
const endpointSelector = z
  .string()
  .regex(/^(?:read|write|admin|[a-z]+\.[a-z_]+)$/, 'must be read, write, admin or an endpoint name such as prometheus.query_range');

export const limitRuleSchema = z
  .strictObject({
    /** Names the rule in logs and in `scopegate_limit_in_flight{rule}`. */
    name,
    /** What one counter is shared by: each identity (subject), or each tenant (every identity of it). */
    per: z.enum(['identity', 'tenant']).default('identity'),
    // Matchers: the rule applies only to requests that match every one given.
    /** Identity subjects: a static token entry's `name`, a basic-auth user, a JWT `sub`. */
    subjects: nonEmptyList.optional(),
    /** JWT roles (the `roles_claim` of `[auth.oidc]`, or of `[auth.jwks]` where set): any of these. */
    roles: nonEmptyList.optional(),
    /** Authenticators: `static-token`, `basic`, `hmac-jwt`, `jwks`, `oidc`, `fixed-tenant`. */
    authenticators: nonEmptyList.optional(),
    tenants: nonEmptyList.optional(),
    /** Upstream `name`s. */
    upstreams: nonEmptyList.optional(),
    endpoints: z.array(endpointSelector).min(1).optional(),
    // Limits: any subset.
    /** Requests per second (GCRA), with `burst` admitted at once from rest (default: the rate, at least 1). */
    rate: z.number().positive().optional(),
    burst: z.int().min(1).optional(),
    /** Requests in flight at once. */
    concurrency: z.int().min(1).optional(),
    /**
     * Over `concurrency`, wait up to this long in a fair per-identity queue for a slot (then 429 `queue_timeout`)
     * instead of an immediate 429 `concurrency_limited`.
     */
    max_queue_duration: durationMs.optional(),
    /** query_range: largest end − start. */
    max_range: durationMs.optional(),
    /** query_range: smallest step. */
    min_step: durationMs.optional(),
    /** query_range: largest (end − start) / step + 1, as Prometheus' own 11,000. */
    max_points: z.int().min(1).optional(),
    /** Queries: bytes of each query as sent upstream (after label enforcement). */
    max_query_bytes: z.int().min(1).optional(),
    /** Instant queries: largest range selector or subquery range plus offset (`rate(x[30d] offset 1d)` = 31d). */
    max_lookback: durationMs.optional(),
    /** Writes (remote write, Loki push, any request body): bytes as received. */
    max_body_bytes: z.int().min(1).optional(),
    /** Remote write: time series per request; Loki push: streams per request. */
    max_series: z.int().min(1).optional(),
    /**
     * Query budgets per `budget_window` (needs `[query_cost] enabled`): samples the backend reports it loaded,
     * and seconds of queries. The query that spends the budget completes; the next are refused 429
     * `query_budget_exceeded` until the window ends.
     */
    max_samples: z.number().positive().optional(),
    max_query_seconds: z.number().positive().optional(),
    /** The budgets' window: fixed, aligned to the Unix epoch (default 1h). */
    budget_window: durationMs.optional(),
  })
  .refine((rule) => rule.burst === undefined || rule.rate !== undefined, { message: 'burst needs rate', path: ['burst'] })
  .refine((rule) => rule.max_queue_duration === undefined || rule.concurrency !== undefined, {
    message: 'max_queue_duration needs concurrency',
    path: ['max_queue_duration'],
  })
  .refine((rule) => rule.budget_window === undefined || rule.max_samples !== undefined || rule.max_query_seconds !== undefined, {
    message: 'budget_window needs max_samples or max_query_seconds',
    path: ['budget_window'],
  });

export const redisLimitsSchema = z.strictObject({
  url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
  /** Per call to Redis; past it the request is decided by `on_backend_error`. */
  timeout: durationMs.prefault('10ms'),
  connect_timeout: durationMs.prefault('1s'),
  on_backend_error: z.enum(['allow', 'deny']).default('allow'),
  key_prefix: z.string().default('scopegate:limits:'),
  /**
   * Concurrency across replicas: a lease per in-flight request in a sorted set, expiring after `lease_ttl`
   * (a crashed replica's slots free themselves). A request running longer than this stops counting.
   */
  lease_ttl: durationMs.prefault('2m'),
  /**
   * Rate tokens each gateway draws from a bucket in Redis at once, then admits from locally until spent
   * (refilled in the background at half): most requests then never wait on Redis. Absent: every request asks
   * Redis. The error bound is in docs/configuration.md ("Local allowance").
   */
  local_allowance: z.int().min(1).max(1_000_000).optional(),
  /** Drawn tokens left unused this long lapse (they count as spent): bounds the excess over the limit. */
  local_allowance_ttl: durationMs.prefault('250ms'),
});

export const limitsSchema = z
  .strictObject({
    backend: z.enum(['memory', 'redis']).default('memory'),
    redis: redisLimitsSchema.optional(),
    rules: z.array(limitRuleSchema).default([]),
  })
  .superRefine((limits, ctx) => {
    if (limits.backend === 'redis' && limits.redis === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'backend = "redis" needs [limits.redis] url' });
    }
    if (limits.redis?.local_allowance !== undefined && limits.redis.local_allowance_ttl < 1) {
      ctx.addIssue({ code: 'custom', path: ['redis', 'local_allowance_ttl'], message: 'must be at least 1ms with local_allowance' });
    }
    const seen = new Set<string>();
    limits.rules.forEach((rule, index) => {
      if (seen.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: `rule name ${rule.name} is used twice` });
      seen.add(rule.name);
    });
  });

export type LimitsSection = z.infer<typeof limitsSchema>;
export type LimitRuleConfig = z.infer<typeof limitRuleSchema>;
export type RedisLimitsConfig = z.infer<typeof redisLimitsSchema>;
export { ENDPOINT_CLASSES };
