import { z } from 'zod';

/**
 * `[query_cost]`: what each query cost, per tenant and identity (docs/query-cost.md).
 * ```toml
 * [query_cost]
 * enabled = true
 * top_identities = 10     # per tenant with their own metric series; the rest are counted as identity="other"
 * max_tenants = 200        # tenants with their own series; later ones are counted as tenant="other"
 * ask_backend = true      # add Prometheus' `stats` where the caller did not (removed again from the answer)
 * ```
 * Off by default: on, Prometheus query answers lose their `content-length` (the statistics are cut out as
 * the body streams) and arrive from the upstream uncompressed.
 */
export const queryCostSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Identities per tenant with their own series on the per-identity counters. */
  top_identities: z.int().min(1).max(100).default(10),
  /**
   * Tenants with their own series on the query cost metrics: tenants may come from JWT claims, so their number
   * is not bounded by the configuration. Past it, new tenants are counted as `tenant="other"`.
   */
  max_tenants: z.int().min(1).max(10_000).default(200),
  /** Queries listed by the admin listener's /query-cost (the most samples, and the longest). */
  top_queries: z.int().min(1).max(200).default(20),
  /** Ask backends that report only when asked (Prometheus' `stats`); off: read only what they send anyway. */
  ask_backend: z.boolean().default(true),
});

export type QueryCostSection = z.infer<typeof queryCostSchema>;
