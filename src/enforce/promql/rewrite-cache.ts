import { describePolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { enforceQuery, enforceSelector, enforceSelectors } from './enforce.js';

/** The two PromQL rewrites the Prometheus API endpoints need (see enforce.ts for their contracts). */
export interface PromQLEnforcer {
  enforceQuery(query: string, policy: LabelPolicy): string;
  enforceSelector(selector: string, policy: LabelPolicy): string;
  /** One selector per policy selector (several `match[]`, ORed); see enforce.ts. */
  enforceSelectors(selector: string, policy: LabelPolicy): string[];
}

/** The rewrites themselves, computed on every call. */
export const uncachedPromQLEnforcer: PromQLEnforcer = { enforceQuery, enforceSelector, enforceSelectors };

export interface RewriteCacheOptions {
  /** Entries kept; the least recently used one is dropped beyond this. */
  readonly maxEntries: number;
  /**
   * Longer queries, and rewrites longer than twice this, are computed every time and not kept: with UTF-16
   * strings an entry then holds at most ~6 × this many bytes, plus the policy's text.
   */
  readonly maxQueryLength: number;
}

/**
 * A PromQLEnforcer that remembers its results in a bounded LRU. Dashboards send the same few queries on every
 * refresh, and a rewrite (parse, rewrite, re-parse to verify) costs tens of microseconds where a hit costs
 * under one (bench/promql-enforce.ts).
 *
 * The key is the rewrite kind, `describePolicy(policy)` and the query, NUL-separated. `describePolicy` prints
 * the policy's matchers with JSON-quoted values (never a raw NUL), and the rewrite depends on nothing but
 * those matchers and the query, so two calls share an entry only when they would compute the same string:
 * a result is never returned for another policy. Errors are not remembered: a refused query is parsed, and
 * refused, every time. Made per upstream by the app (no module-level state).
 */
export function createCachedPromQLEnforcer(options: RewriteCacheOptions): PromQLEnforcer & { readonly size: number } {
  const entries = new Map<string, string>();
  const cached = (kind: string, rewrite: (value: string, policy: LabelPolicy) => string) => {
    return (value: string, policy: LabelPolicy): string => {
      if (value.length > options.maxQueryLength) return rewrite(value, policy);
      const key = `${kind}\0${describePolicy(policy)}\0${value}`;
      const hit = entries.get(key);
      if (hit !== undefined) {
        // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
        entries.delete(key);
        entries.set(key, hit);
        return hit;
      }
      const result = rewrite(value, policy);
      if (result.length > 2 * options.maxQueryLength) return result;
      entries.set(key, result);
      if (entries.size > options.maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
      return result;
    };
  };
  return {
    enforceQuery: cached('query', enforceQuery),
    enforceSelector: cached('selector', enforceSelector),
    // A printed selector never holds a raw NUL (quotePromString escapes control characters): NUL joins them.
    enforceSelectors: (() => {
      const joined = cached('selectors', (value, policy) => enforceSelectors(value, policy).join('\0'));
      return (value: string, policy: LabelPolicy): string[] => joined(value, policy).split('\0');
    })(),
    get size() {
      return entries.size;
    },
  };
}
