import { selectorMatchers, type LabelPolicy, type LabelSelector } from '../../policy/label-policy.js';
import { onlySelector } from '../one-selector.js';

/** How policy labels become TraceQL attributes. */
export interface TraceQueryOptions {
  /**
   * Resource attribute that carries each policy label, e.g. `{ namespace: "k8s.namespace.name" }`.
   * A label without an entry is used as the attribute name itself (`resource.namespace`).
   */
  readonly attributes?: Readonly<Record<string, string>>;
}

// What lezer-traceql accepts as an unquoted attribute name (its `Identifier` token), minus a trailing dot.
const ATTRIBUTE_NAME = /^[a-zA-Z_][a-zA-Z0-9_.]*[a-zA-Z0-9_]$|^[a-zA-Z_]$/;

/**
 * The TraceQL conditions that enforce a policy, one per rule, in rule order: `resource.<attr> = "v"` for a
 * single literal, else `resource.<attr> =~ "^(?:re)$"`. The explicit anchors keep the meaning the same whether
 * the Tempo version anchors `=~` itself or not (older Tempo matched unanchored). Always the `resource.` scope:
 * the policy is about where a span comes from, never a span attribute a client can set per span.
 * Empty for full access (and for a policy without rules).
 */
export function buildPolicyConditions(policy: LabelPolicy, options: TraceQueryOptions = {}): string[] {
  if (policy.fullAccess) return [];
  return buildSelectorConditions(onlySelector(policy, 'a TraceQL filter without ||'), options);
}

/**
 * The one TraceQL condition of a policy, for a spanset filter: the conditions of a one-selector policy joined
 * with `&&` (as today), or, for several selectors, `((a1 && a2) || (b1))`: a span passes when its resource
 * satisfies one selector, exactly the union (resource attributes are per span). Undefined for full access.
 */
export function buildPolicyCondition(policy: LabelPolicy, options: TraceQueryOptions = {}): string | undefined {
  if (policy.fullAccess) return undefined;
  if (policy.selectors.length === 1) return buildSelectorConditions(policy.selectors[0] as LabelSelector, options).join(' && ');
  return `(${policy.selectors.map((selector) => `(${buildSelectorConditions(selector, options).join(' && ')})`).join(' || ')})`;
}

function buildSelectorConditions(selector: LabelSelector, options: TraceQueryOptions): string[] {
  return selectorMatchers(selector).map((matcher) => {
    const attribute = options.attributes?.[matcher.label] ?? matcher.label;
    if (!ATTRIBUTE_NAME.test(attribute)) {
      throw new TypeError(`invalid TraceQL attribute name for label "${matcher.label}": ${attribute}`);
    }
    const value = matcher.op === '=' ? matcher.value : `^(?:${matcher.value})$`;
    return `resource.${attribute} ${matcher.op} ${quoteTraceString(value)}`;
  });
}

/**
 * A TraceQL double-quoted string. Tempo unquotes with Go's `strconv.Unquote`, which reads every escape
 * JSON.stringify writes (`\"`, `\\`, `\n`, `\uXXXX`), so the value arrives byte for byte.
 */
export function quoteTraceString(value: string): string {
  return JSON.stringify(value);
}
