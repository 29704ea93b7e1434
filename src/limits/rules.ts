import { createHash } from 'node:crypto';
import type { LimitRuleConfig } from '../config/sections/limits.js';
import type { Identity } from '../identity/identity.js';
import type { Endpoint } from '../routing/endpoint.js';
import type { RateLimit } from './gcra.js';

/** What a rule is matched against: known once the request is authenticated, routed and its tenants resolved. */
export interface LimitSubject {
  readonly identity: Identity;
  readonly tenants: readonly string[];
  readonly upstream: string;
  readonly endpoint: Pick<Endpoint, 'name' | 'scope' | 'query' | 'writeFormat'>;
}

/** A `[[limits.rules]]` entry, compiled once at load. */
export interface LimitRule {
  readonly name: string;
  /**
   * Digest of the whole rule: the same rule after a reload keeps its counters. The name is part of it, so two
   * rules that differ only by name never share (and double-charge) one counter.
   */
  readonly id: string;
  readonly config: LimitRuleConfig;
  readonly rate: RateLimit | undefined;
  readonly hasCostGuards: boolean;
  /** Query budgets (`max_samples`, `max_query_seconds` per `budget_window`); undefined when it has none. */
  readonly budget: QueryBudget | undefined;
  matches(subject: LimitSubject): boolean;
  /** The counter this request is charged to: its identity, or its tenant set (in any order, one counter). */
  bucketKey(subject: LimitSubject): string;
}

export interface QueryBudget {
  readonly maxSamples: number | undefined;
  readonly maxSeconds: number | undefined;
  readonly windowMs: number;
}

const DEFAULT_BUDGET_WINDOW_MS = 3_600_000;

export function compileLimitRule(config: LimitRuleConfig): LimitRule {
  const subjects = setOf(config.subjects);
  const authenticators = setOf(config.authenticators);
  const roles = setOf(config.roles);
  const tenants = setOf(config.tenants);
  const upstreams = setOf(config.upstreams);
  const endpoints = setOf(config.endpoints);
  const { name } = config;
  const rate =
    config.rate === undefined ? undefined : { intervalMs: 1000 / config.rate, burst: config.burst ?? Math.max(1, Math.ceil(config.rate)) };
  return Object.freeze({
    name,
    id: createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16),
    config,
    rate,
    hasCostGuards: [config.max_range, config.min_step, config.max_points, config.max_query_bytes, config.max_lookback].some(
      (value) => value !== undefined,
    ),
    budget:
      config.max_samples === undefined && config.max_query_seconds === undefined
        ? undefined
        : {
            maxSamples: config.max_samples,
            maxSeconds: config.max_query_seconds,
            windowMs: config.budget_window ?? DEFAULT_BUDGET_WINDOW_MS,
          },
    matches(subject: LimitSubject): boolean {
      return (
        (subjects === undefined || subjects.has(subject.identity.subject)) &&
        (authenticators === undefined || authenticators.has(subject.identity.authenticator)) &&
        (roles === undefined || (subject.identity.roles ?? []).some((role) => roles.has(role))) &&
        (tenants === undefined || subject.tenants.some((tenant) => tenants.has(tenant))) &&
        (upstreams === undefined || upstreams.has(subject.upstream)) &&
        (endpoints === undefined || endpoints.has(subject.endpoint.scope) || endpoints.has(subject.endpoint.name))
      );
    },
    bucketKey(subject: LimitSubject): string {
      return config.per === 'tenant'
        ? `t:${tenantSetKey(subject.tenants)}`
        : `i:${subject.identity.authenticator}:${subject.identity.subject}`;
    },
  });
}

/**
 * A federated request's tenants as a set: `a|b` and `b|a` are the same tenants to Mimir and Loki, so they are
 * one counter and one metric label here, never a fresh budget per ordering (duplicates are already folded).
 */
export function tenantSetKey(tenants: readonly string[]): string {
  return tenants.length === 1 ? (tenants[0] as string) : [...tenants].sort().join('|');
}

function setOf(values: readonly string[] | undefined): ReadonlySet<string> | undefined {
  return values === undefined ? undefined : new Set(values);
}
