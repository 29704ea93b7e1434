import type { Pool } from 'undici';
import type { UpstreamConfig } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import { createCachedPromQLEnforcer } from '../enforce/promql/rewrite-cache.js';
import { compileEndpointTable } from '../routing/endpoint-table.js';
import type { Preset } from '../routing/endpoint.js';
import { presetFor } from '../routing/presets/index.js';
import { createBalancedUpstream, type BalancedUpstream } from './balancer/balanced-upstream.js';
import type { BalancerMetrics } from './balancer/balancer-metrics.js';
import type { HostResolver } from './balancer/dns-discovery.js';
import { createUpstreamPool } from './pool.js';
import { createSigningInterceptor } from './signing-interceptor.js';
import { upstreamTlsOptions } from './tls.js';
import type { Signer } from './sigv4.js';
import type { Destination, UpstreamTarget } from './upstream-target.js';

export interface BuiltUpstream {
  readonly target: UpstreamTarget;
  /** The balancer of its backends when it has several (or DNS discovery, or an active check). */
  readonly balanced: BalancedUpstream | undefined;
  /** First DNS answers and health checks of a balanced upstream; nothing otherwise. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface UpstreamDeps {
  readonly clock: Clock;
  readonly balancerMetrics?: BalancerMetrics | undefined;
  readonly resolver: HostResolver;
  /** The endpoint table, when not the type's built-in preset (tests bring presets of their own). */
  readonly preset?: Preset | undefined;
}

/** The built-in preset of an upstream's `type`. */
function presetOfUpstream(config: UpstreamConfig): Preset {
  return presetFor(config.type, config.traceql_attributes ? { traceqlAttributes: config.traceql_attributes } : {});
}

/** A balancer only where there is something to balance or watch: a single URL keeps today's bare pool. */
export function needsBalancer(config: UpstreamConfig): boolean {
  return config.backends.length > 1 || config.dns !== undefined || config.health.check_path !== undefined;
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
 * address (the single-address "gateway" form). The preset is the type's built-in one unless one is given.
 */
export function createUpstream(config: UpstreamConfig, signer: Signer | undefined, deps: UpstreamDeps): BuiltUpstream {
  const preset = deps.preset ?? presetOfUpstream(config);
  const pools = new Map<string, Pool>();
  const tls = upstreamTlsOptions(config);
  const name = config.name ?? config.upstream.host;
  const poolFor = (url: URL, servername: string | undefined): Pool =>
    createUpstreamPool(url, {
      connections: config.max_idle_conns,
      idleTimeoutMs: config.idle_conn_timeout,
      dialTimeoutMs: config.dial_timeout,
      tls: servername !== undefined && url.protocol === 'https:' ? { servername, ...tls } : tls,
    });
  // Signing wraps the pool, so whatever leaves through it is signed; unsigned upstreams keep the bare pool.
  const signed = (pool: Pool, url: URL) => (signer ? pool.compose(createSigningInterceptor(signer, url.origin)) : pool);
  const destinationFor = (url: URL): Destination => {
    let pool = pools.get(url.origin);
    if (!pool) {
      pool = poolFor(url, undefined);
      pools.set(url.origin, pool);
    }
    const dispatcher = signed(pool, url);
    return { dispatcher, readDispatcher: dispatcher, url, basePath: url.pathname.replace(/\/+$/, '') };
  };
  // Several backends: one pool each, signed the same way, behind the balancer (balancer/balanced-dispatcher.ts).
  const balanced = needsBalancer(config)
    ? createBalancedUpstream(config, name, {
        clock: deps.clock,
        metrics: deps.balancerMetrics,
        resolver: deps.resolver,
        connect: (url, servername) => {
          const pool = poolFor(url, servername);
          return { dispatcher: signed(pool, url), close: () => pool.close() };
        },
      })
    : undefined;
  const main: Destination = balanced
    ? {
        dispatcher: balanced.dispatcher,
        readDispatcher: balanced.readDispatcher,
        url: config.upstream,
        basePath: config.upstream.pathname.replace(/\/+$/, ''),
      }
    : destinationFor(config.upstream);
  const components = new Map<string, Destination>();
  for (const [key, url] of Object.entries(config.components ?? {})) {
    if (url instanceof URL) components.set(key, destinationFor(url));
  }
  const target: UpstreamTarget = {
    name,
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
    balanced,
    start: async () => balanced?.start(),
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      await balanced?.close();
      await signer?.close();
    },
  };
}
