import { ruleToMatcher, type LabelSelector, type LimitedPolicy, type PolicyMatcher } from '../../policy/label-policy.js';
import { onlySelector } from '../one-selector.js';
import { compileRuleCheck, type ValueCheck } from './policy-values.js';
import type { DecodedSelector, SelectorPart } from './selector.js';

/** A policy prepared once for many selectors: per rule, the matcher to add and the "provably allowed" check. */
export interface CompiledPolicy {
  readonly rules: readonly { readonly matcher: PolicyMatcher; readonly isAllowed: ValueCheck }[];
}

/**
 * Each policy object compiled once: a policy is immutable (buildLabelPolicy freezes it, rules and values too)
 * and lives as long as the identity carrying it, so the compiled form can be kept beside it instead of compiling
 * the policy's regexes on every rewrite. Derived data, not state: the answer is the same with or without an
 * entry, and an entry goes away with its policy (WeakMap). A policy not frozen all the way is compiled every time.
 */
const compiledPolicies = new WeakMap<LimitedPolicy, readonly CompiledPolicy[]>();

/** Compiles a (non-full-access) one-selector policy's rules; several selectors: InexpressiblePolicy. */
export function compilePolicy(policy: LimitedPolicy): CompiledPolicy {
  onlySelector(policy, 'a PromQL series selector');
  return compileSelectors(policy)[0] as CompiledPolicy;
}

/** Compiles each selector of a (non-full-access) policy, in order: one CompiledPolicy per selector. */
export function compileSelectors(policy: LimitedPolicy): readonly CompiledPolicy[] {
  const known = compiledPolicies.get(policy);
  if (known !== undefined) return known;
  const compiled = Object.freeze(policy.selectors.map(compileSelector));
  if (isDeeplyFrozen(policy)) compiledPolicies.set(policy, compiled);
  return compiled;
}

function compileSelector(selector: LabelSelector): CompiledPolicy {
  const rules = selector.map((rule) => Object.freeze({ matcher: ruleToMatcher(rule), isAllowed: compileRuleCheck(rule) }));
  return Object.freeze({ rules: Object.freeze(rules) });
}

function isDeeplyFrozen(policy: LimitedPolicy): boolean {
  return (
    Object.isFrozen(policy) &&
    Object.isFrozen(policy.selectors) &&
    policy.selectors.every((rules) => Object.isFrozen(rules)) &&
    policy.selectors.flat().every((rule) => Object.isFrozen(rule) && Object.isFrozen(rule.literals) && Object.isFrozen(rule.regexes))
  );
}

/**
 * Makes one selector carry the policy. For each rule (label L):
 * - a positive equality `L="v"` with v provably allowed (a policy literal, or matched by a policy regex in the
 *   conservative subset) already narrows L inside the policy: it is kept and nothing is added (lfgw's
 *   "deduplication": `namespace="minio"` under `min.*|stolon` stays as written);
 * - every other positive matcher on L (`=` outside the policy, `=~` of any value, `L=""`) is dropped and the
 *   policy matcher added: the user cannot widen, and we do not try to decide regex inclusion (prom-label-proxy
 *   replaces such matchers the same way);
 * - negative matchers on L (`!=`, `!~`) only narrow: they are kept, and the policy matcher is still added unless
 *   a kept equality already pins L.
 * Matchers on other labels, the metric name and `__name__` matchers are kept unchanged.
 */
export function injectPolicy(selector: DecodedSelector, policy: CompiledPolicy): DecodedSelector {
  let parts: readonly SelectorPart[] = selector.parts;
  const added: SelectorPart[] = [];
  for (const rule of policy.rules) {
    const label = rule.matcher.label;
    const isPinned = parts.some((p) => isOnLabel(p, label) && p.op === '=' && rule.isAllowed(p.value));
    parts = parts.filter((p) => !isOnLabel(p, label) || isNegative(p) || (p.op === '=' && rule.isAllowed(p.value)));
    if (!isPinned) {
      added.push({ kind: 'matcher', label, quotedName: false, op: rule.matcher.op, value: rule.matcher.value });
    }
  }
  return { metric: selector.metric, parts: [...parts, ...added] };
}

/**
 * Makes one selector carry one policy selector of several, by intersection: every matcher of the client is
 * kept (PromQL ANDs a selector's matchers, so a kept positive matcher can only narrow), and each rule's matcher
 * is added unless a kept equality already pins its label to a provably allowed value. Unlike `injectPolicy`, a
 * client's matcher outside this policy selector is not replaced: under a union, `up{namespace="a"}` must read
 * namespace a from whichever selector allows it, and nothing from the others (union.ts).
 */
export function intersectPolicy(selector: DecodedSelector, policy: CompiledPolicy): DecodedSelector {
  const added: SelectorPart[] = [];
  for (const rule of policy.rules) {
    const label = rule.matcher.label;
    const isPinned = selector.parts.some((p) => isOnLabel(p, label) && p.op === '=' && rule.isAllowed(p.value));
    if (!isPinned) added.push({ kind: 'matcher', label, quotedName: false, op: rule.matcher.op, value: rule.matcher.value });
  }
  return { metric: selector.metric, parts: [...selector.parts, ...added] };
}

function isOnLabel(part: SelectorPart, label: string): part is Extract<SelectorPart, { kind: 'matcher' }> {
  return part.kind === 'matcher' && part.label === label;
}

function isNegative(part: Extract<SelectorPart, { kind: 'matcher' }>): boolean {
  return part.op === '!=' || part.op === '!~';
}
