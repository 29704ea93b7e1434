import type { z } from 'zod';
import { coreSchema } from './schema.js';
import { refineSecretsConfig, secretsConfigShape } from './sections/secrets.js';

/**
 * The whole configuration schema: the core keys plus each area's section. Unknown keys are errors, so a
 * typo is reported instead of silently ignored.
 */
export const configSchema = coreSchema.extend(secretsConfigShape).strict().superRefine(refineSecretsConfig);

export type Config = z.infer<typeof configSchema>;
export type UpstreamConfig = Config['proxy']['upstreams'][number];
