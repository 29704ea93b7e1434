import { z } from 'zod';

/**
 * `[query_cost]`: who runs the expensive queries (docs/decisions.md). Off unless the section is present.
 * ```toml
 * [query_cost]
 * identities_per_tenant = 20     # identities with their own label per tenant; later ones count as "_other"
 * tenants = 200                  # tenants with their own label; later ones count as "_other"
 * ```
 */
export const queryCostSchema = z.strictObject({
  identities_per_tenant: z.int().min(1).max(1000).default(20),
  tenants: z.int().min(1).max(10_000).default(200),
});

export type QueryCostSection = z.infer<typeof queryCostSchema>;
