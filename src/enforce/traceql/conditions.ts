import { selectorMatchers, type LabelPolicy } from '../../policy/label-policy.js';
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
  return selectorMatchers(onlySelector(policy, 'a TraceQL query')).map((matcher) => {
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
