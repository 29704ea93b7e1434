import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LimitsSection } from '../config/sections/limits.js';
import type { LimitBackendError } from './backend.js';
import { createLimitMetrics } from './limit-metrics.js';
import { compileLimitRules, createLimiter, type Limiter } from './limiter.js';
import { createMemoryBackend, createMemoryLimitState, type MemoryLimitState } from './memory-backend.js';
import { createRedisBackend } from './redis-backend.js';

export interface LimitsDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now: () => number;
  /** The memory backend's counters of the configuration being replaced (reload): unchanged rules keep theirs. */
  readonly previous?: LimitsRuntime | undefined;
}

/** The limiter, plus what the app needs to start it and to hand its state to the next configuration. */
export interface LimitsRuntime {
  readonly limiter: Limiter;
  readonly memoryState: MemoryLimitState | undefined;
  start(): Promise<void>;
}

/** Builds `[limits]`: the rules, the configured backend, the limiter. */
export async function createLimits(config: LimitsSection, deps: LimitsDeps): Promise<LimitsRuntime> {
  const rules = compileLimitRules(config);
  const metrics = createLimitMetrics(deps.registry);
  const redisConfig = config.backend === 'redis' ? config.redis : undefined;
  const redis = redisConfig
    ? await createRedisBackend(redisConfig, { logger: deps.logger, reportReadiness: redisConfig.on_backend_error === 'deny' })
    : undefined;
  const memory = redis
    ? undefined
    : createMemoryBackend(
        deps.previous?.memoryState ?? createMemoryLimitState(),
        rules.map((rule) => rule.id),
      );
  let lastReport = 0;
  const limiter = createLimiter(rules, {
    backend: redis ?? (memory as NonNullable<typeof memory>),
    metrics,
    now: deps.now,
    onBackendError: redisConfig?.on_backend_error ?? 'allow',
    reportBackendError(error: LimitBackendError) {
      // At most one line a second: a Redis outage must not become one warning per request.
      const now = deps.now();
      if (now - lastReport < 1000) return;
      lastReport = now;
      deps.logger.warn({ err: error.message, onBackendError: redisConfig?.on_backend_error }, 'limits backend call failed');
    },
  });
  return {
    limiter,
    memoryState: memory?.state,
    start: async () => redis?.start(),
  };
}
