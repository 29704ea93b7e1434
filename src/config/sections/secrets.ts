import { z } from 'zod';
import { durationMs } from '../duration.js';

/**
 * Where static tokens come from. Top-level keys follow LGTM-Auth-Proxy's config:
 * ```toml
 * backend_type = "secretsmanager"          # or "file", "env"
 * [secretsmanager]
 * secret_id = "prod/scopegate/tokens"
 * refresh_interval = "1m"
 * stale_threshold = "15m"
 * ```
 * `[static_tokens]` holds scopegate's additions (policy label, JWT pass-through).
 */
const refreshKeys = {
  refresh_interval: durationMs.prefault('1m'),
  stale_threshold: durationMs.prefault('15m'),
};

export const secretsManagerSectionSchema = z.strictObject({
  secret_id: z.string().min(1),
  ...refreshKeys,
  region: z.string().min(1).optional(),
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** SDK attempts per refresh (retries included); default the SDK's 3. */
  max_attempts: z.int().min(1).max(10).optional(),
});

export const fileSectionSchema = z.strictObject({
  path: z.string().min(1),
  ...refreshKeys,
  /** Reload on change events as well as on the interval. */
  watch: z.boolean().default(true),
});

export const envSectionSchema = z.strictObject({
  variable: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
});

export const staticTokensSectionSchema = z.strictObject({
  /** Label that entries' `namespace`/`namespaces` constrain. */
  policy_label: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name')
    .default('namespace'),
  /**
   * Let unknown JWT-shaped bearers fall through to the JWT authenticators (see static-token.ts).
   * Unset: on exactly when a JWT provider is configured (config.ts fills it in).
   */
  pass_through_jwt: z.boolean().optional(),
});

/** The keys, to spread into the root schema. */
export const secretsConfigShape = {
  backend_type: z.enum(['secretsmanager', 'file', 'env']).optional(),
  secretsmanager: secretsManagerSectionSchema.optional(),
  file: fileSectionSchema.optional(),
  env: envSectionSchema.optional(),
  static_tokens: staticTokensSectionSchema.prefault({}),
};

/** The chosen backend needs its section (`[env]` may be omitted: it has defaults). */
export function refineSecretsConfig(
  config: { backend_type?: string | undefined; secretsmanager?: unknown; file?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (config.backend_type === 'secretsmanager' && config.secretsmanager === undefined) {
    ctx.addIssue({ code: 'custom', path: ['secretsmanager'], message: 'required when backend_type = "secretsmanager"' });
  }
  if (config.backend_type === 'file' && config.file === undefined) {
    ctx.addIssue({ code: 'custom', path: ['file'], message: 'required when backend_type = "file"' });
  }
}

export const secretsConfigSchema = z.object(secretsConfigShape).superRefine(refineSecretsConfig);
export type SecretsConfig = z.infer<typeof secretsConfigSchema>;
