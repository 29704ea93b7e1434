import type { Pool } from 'undici';
import type { UpstreamConfig } from '../config/config.js';
import { createCachedPromQLEnforcer } from '../enforce/promql/rewrite-cache.js';
import { compileEndpointTable } from '../routing/endpoint-table.js';
import { presetFor } from '../routing/presets/index.js';
import { createUpstreamPool } from './pool.js';
import { createSigningInterceptor } from './signing-interceptor.js';
import { upstreamTlsOptions } from './tls.js';
import type { Signer } from './sigv4.js';
import type { Destination, UpstreamTarget } from './upstream-target.js';

export interface BuiltUpstream {
  readonly target: UpstreamTarget;
  close(): Promise<void>;
}

/**
 * Per upstream: dashboards repeat a few hundred distinct queries per policy. Queries over 2048 characters
 * are not kept, which bounds the cache to about 6 MB (rewrite-cache.ts).
 */
const PROMQL_REWRITE_CACHE = { maxEntries: 500, maxQueryLength: 2048 } as const;

/** `query-frontend` (preset rows) ↔ `query_frontend` (config keys). */
function componentKey(component: string): string {
  return component.replace(/-/g, '_');
}

/**
 * Builds one upstream: its preset's endpoint table, one pool per distinct origin (the main address and each
 * configured component), and the switches the pipeline reads. Components not configured go to the main
 * address (the single-address "gateway" form).
 */
export function createUpstream(config: UpstreamConfig, signer: Signer | undefined): BuiltUpstream {
  const preset = presetFor(config.type, config.traceql_attributes ? { traceqlAttributes: config.traceql_attributes } : {});
  const pools = new Map<string, Pool>();
  const tls = upstreamTlsOptions(config);
  const destinationFor = (url: URL): Destination => {
    let pool = pools.get(url.origin);
    if (!pool) {
      pool = createUpstreamPool(url, {
        connections: config.max_idle_conns,
        idleTimeoutMs: config.idle_conn_timeout,
        dialTimeoutMs: config.dial_timeout,
        tls,
      });
      pools.set(url.origin, pool);
    }
    // Signing wraps the pool, so whatever leaves through it is signed; unsigned upstreams keep the bare pool.
    const dispatcher = signer ? pool.compose(createSigningInterceptor(signer, url.origin)) : pool;
    return { dispatcher, url, basePath: url.pathname.replace(/\/+$/, '') };
  };
  const main = destinationFor(config.upstream);
  const components = new Map<string, Destination>();
  for (const [key, url] of Object.entries(config.components ?? {})) {
    if (url instanceof URL) components.set(key, destinationFor(url));
  }
  const target: UpstreamTarget = {
    name: config.name ?? config.upstream.host,
    type: config.type,
    table: compileEndpointTable(preset),
    timeoutMs: config.timeout,
    forwardCredentials: config.forward_credentials,
    allowFederation: config.allow_federation,
    allowAdmin: config.allow_admin,
    allowUnenforcedPolicy: preset.unenforcedPolicyOptOut === true && config.allow_unenforced_policy,
    allowWrite: config.allow_write ?? preset.writesByDefault,
    tenantHeader: config.tenant_header.toLowerCase(),
    options: {
      policyLabel: config.policy_label,
      injectLabelsOnWrite: config.inject_labels_on_write,
      nativeLabelPolicyHeader: config.native_label_policy_header,
      nativeLabelPolicyEnforced: config.native_label_policy_header && config.native_label_policy_enforced,
      promql: createCachedPromQLEnforcer(PROMQL_REWRITE_CACHE),
    },
    signer,
    destination: (component) => (component ? components.get(componentKey(component)) : undefined) ?? main,
  };
  return {
    target,
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      await signer?.close();
    },
  };
}
