import type { z } from 'zod';
import { coreSchema } from './sections/core.js';
import { aclSchema, authSchema } from './sections/auth.js';
import { decisionLogSchema } from './sections/decision-log.js';
import { limitsSchema } from './sections/limits.js';
import { queryCostSchema } from './sections/query-cost.js';
import { refineSecretsConfig, secretsConfigShape } from './sections/secrets.js';

/**
 * The one configuration schema: the core section (`sections/core.ts`) plus each area's section in
 * `sections/`. Unknown keys are errors, so a typo is reported instead of silently ignored.
 */
export const configSchema = coreSchema
  .extend({
    ...secretsConfigShape,
    auth: authSchema.prefault({}),
    acl: aclSchema.optional(),
    limits: limitsSchema.prefault({}),
    decision_log: decisionLogSchema.optional(),
    query_cost: queryCostSchema.prefault({}),
  })
  .strict()
  // Run even when other keys are invalid, so check-config lists every problem in one pass.
  .superRefine(refineSecretsConfig, { when: () => true })
  // One writer per chain: workers would interleave records in one file.
  .refine((config) => config.decision_log?.sink !== 'file' || config.proxy.workers === 1, {
    message: 'a decision log file has one writer: set proxy.workers = 1, or use sink = "stdout"',
    path: ['decision_log', 'sink'],
  })
  .superRefine((config, ctx) => {
    // A query budget is spent by what the queries cost: that is measured only with [query_cost] on.
    if (config.query_cost.enabled) return;
    config.limits.rules.forEach((rule, index) => {
      for (const key of ['max_samples', 'max_query_seconds'] as const) {
        if (rule[key] !== undefined)
          ctx.addIssue({ code: 'custom', path: ['limits', 'rules', index, key], message: `${key} needs [query_cost] enabled = true` });
      }
    });
  })
  .transform((config) => {
    // Static tokens refuse unknown bearers; when JWT providers follow in the chain, JWTs must reach them.
    const hasJwtProvider = config.auth.hmac_jwt !== undefined || config.auth.jwks !== undefined || config.auth.oidc !== undefined;
    const passThroughJwt = config.static_tokens.pass_through_jwt ?? hasJwtProvider;
    return { ...config, static_tokens: { ...config.static_tokens, pass_through_jwt: passThroughJwt } };
  });

export type Config = z.infer<typeof configSchema>;
export type UpstreamConfig = Config['proxy']['upstreams'][number];
