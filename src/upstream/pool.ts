import type { ConnectionOptions } from 'node:tls';
import { Pool } from 'undici';

export interface PoolOptions {
  /** Connection cap (LGTM Auth Proxy's `max_idle_conns`). */
  readonly connections: number;
  readonly idleTimeoutMs: number;
  readonly dialTimeoutMs: number;
  /** CA, client certificate, server name, verification (upstream `tls`). */
  readonly tls?: ConnectionOptions;
}

/**
 * One undici Pool per upstream origin: keep-alive connections reused across requests. The keep-alive
 * timeout is the configured idle timeout (undici's default of 4 s would reconnect under light load).
 */
export function createUpstreamPool(origin: URL, options: PoolOptions): Pool {
  return new Pool(origin.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: options.idleTimeoutMs,
    keepAliveMaxTimeout: Math.max(options.idleTimeoutMs, 600_000),
    connect: { timeout: options.dialTimeoutMs, ...options.tls },
    // Timeouts are set per request from the upstream's `timeout`.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}
