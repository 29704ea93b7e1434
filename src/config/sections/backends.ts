import { z } from 'zod';
import { durationMs } from '../duration.js';

/**
 * The high-availability keys of an upstream (docs/high-availability.md): several backends behind one upstream,
 * how a request picks one, when a backend is taken out and let back, what is retried, and DNS discovery.
 * All backends of an upstream share its scheme, path, TLS and signing settings; only the host and port differ.
 */

export const BALANCE_POLICIES = ['round_robin', 'least_loaded', 'first_available', 'hash'] as const;
export type BalancePolicy = (typeof BALANCE_POLICIES)[number];

const statusCode = z.number().int().min(100).max(599);

/** `[proxy.upstreams.health]`: passive (answers to real requests) and active (a probe) health of each backend. */
export const healthSchema = z
  .object({
    /** Statuses that count as a failure of the backend (connection errors and timeouts always do). */
    unhealthy_status_codes: z.array(statusCode).default([]),
    /** How long a failed backend is out; doubled on each failure in a row, up to `max_backoff`. */
    backoff: durationMs.default(5_000),
    max_backoff: durationMs.default(60_000),
    /** Active check: GET this path on every backend each `check_interval`; a 2xx is healthy. */
    check_path: z
      .string()
      .regex(/^\/[^#]*$/, 'check_path must start with "/"')
      .optional(),
    check_interval: durationMs.default(10_000),
    check_timeout: durationMs.default(2_000),
  })
  .strict();

/** `[proxy.upstreams.dns]`: re-resolve the backends' host names (A/AAAA, or SRV) every `refresh_interval`. */
export const dnsSchema = z
  .object({
    refresh_interval: durationMs.default(30_000),
    /** The host names are SRV names (`_http._tcp.prometheus.monitoring.svc`): targets and ports come from SRV. */
    srv: z.boolean().default(false),
  })
  .strict();

/** The keys added to `upstreamSchema` (core.ts). */
export const haKeys = {
  balance: z.enum(BALANCE_POLICIES).default('round_robin'),
  /** `hash`: what picks the backend; `query` keeps a query on one backend for its cache. */
  hash_on: z.enum(['tenant', 'query']).default('tenant'),
  /** Answers retried on another backend (a read, or a buffered write with `retry_writes`), e.g. [502, 503]. */
  retry_status_codes: z.array(statusCode).default([]),
  /** Further backends one request may try after its first. */
  max_retries: z.number().int().min(0).max(10).default(1),
  /** Retries allowed, as a share of the requests of the last 10 s (plus a floor of 3 per second). */
  retry_budget: z.number().min(0).max(1).default(0.2),
  /** Retry writes too (their body is always buffered then); off: a write is sent once. */
  retry_writes: z.boolean().default(false),
  health: healthSchema.prefault({}),
  dns: dnsSchema.optional(),
};

export interface BackendConfig {
  readonly url: URL;
  readonly weight: number;
}

/**
 * `upstream = "…"`, `upstream = ["…", "…"]` or `[[backends]]` → one list of backends, each with its weight.
 * Returns an error message when they do not share a scheme and path, or when both forms are given.
 */
export function normaliseBackends(
  upstream: URL | readonly URL[] | undefined,
  rows: readonly BackendConfig[] | undefined,
): BackendConfig[] | string {
  if (upstream !== undefined && rows !== undefined) return 'set upstream or backends, not both';
  const list: BackendConfig[] = rows
    ? [...rows]
    : upstream === undefined
      ? []
      : (Array.isArray(upstream) ? upstream : [upstream as URL]).map((url) => ({ url, weight: 1 }));
  if (list.length === 0) return 'set upstream (one URL or a list) or backends';
  const first = (list[0] as BackendConfig).url;
  for (const { url } of list) {
    if (url.protocol !== first.protocol || url.pathname.replace(/\/+$/, '') !== first.pathname.replace(/\/+$/, '')) {
      return `every backend must share the scheme and path of the first (${first.protocol}//…${first.pathname}); ${url.href} does not`;
    }
  }
  if (list.every((b) => b.weight === 0)) return 'at least one backend needs a weight above 0';
  return list;
}
