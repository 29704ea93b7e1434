import type { z } from 'zod';
import { coreSchema } from './schema.js';

/**
 * The whole configuration schema: the core keys plus each area's section.
 * Sections join here as their areas land (secrets, auth, sign).
 */
export const configSchema = coreSchema.loose();

export type Config = z.infer<typeof configSchema>;
export type UpstreamConfig = Config['proxy']['upstreams'][number];
