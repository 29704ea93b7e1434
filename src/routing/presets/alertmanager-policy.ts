import { selectorMatchers, type LabelRule, type LabelSelector, type LimitedPolicy, type PolicyMatcher } from '../../policy/label-policy.js';

/**
 * The label policy applied to Alertmanager objects (API v2): alert label sets and silence matchers.
 * Pure; the preset (alertmanager.ts) turns answers into HTTP errors and filtered bodies. A policy of several
 * selectors allows what one of them allows: an alert whose labels satisfy one selector, a silence confined by
 * one selector.
 */

/** A silence matcher as the v2 API writes it (`isEqual` is absent before 0.22 and then means true). */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

function isValueAllowed(rule: LabelRule, value: string): boolean {
  if (rule.literals.includes(value)) return true;
  return rule.regexes.some((re) => new RegExp(`^(?:${re})$`, 'u').test(value));
}

/**
 * Undefined when an alert's labels satisfy one of the policy's selectors; else the first rule they break in
 * the first selector (for the message).
 */
export function findViolatedRule(labels: Readonly<Record<string, unknown>>, policy: LimitedPolicy): LabelRule | undefined {
  const violated = policy.selectors.map((selector) => findViolatedSelectorRule(labels, selector));
  return violated.includes(undefined) ? undefined : violated[0];
}

function findViolatedSelectorRule(labels: Readonly<Record<string, unknown>>, selector: LabelSelector): LabelRule | undefined {
  return selector.find((rule) => {
    const value = labels[rule.label];
    return typeof value !== 'string' || !isValueAllowed(rule, value);
  });
}

const PLAIN_LITERAL = /^[^\\^$.|?*+()[\]{}]+$/;

/**
 * Whether one matcher confines a silence to a rule: a positive equality matcher with an allowed value, or a
 * positive regex matcher that is one of the rule's own regexes or an alternation of allowed plain literals
 * (`a|b`). Anything wider, or negative (`!=`, `!~`), does not confine it.
 */
function confinesTo(matcher: SilenceMatcher, rule: LabelRule): boolean {
  if (matcher.name !== rule.label || matcher.isEqual === false) return false;
  if (!matcher.isRegex) return isValueAllowed(rule, matcher.value);
  if (rule.regexes.includes(matcher.value)) return true;
  const parts = matcher.value.split('|');
  return parts.every((part) => PLAIN_LITERAL.test(part) && rule.literals.includes(part));
}

/**
 * A silence belongs to the policy when, for every rule of one selector, one of its matchers confines it to
 * allowed values (silence matchers are ANDed, so one confining matcher per rule is enough). A silence that
 * could mute another tenant's alerts is outside.
 */
export function isSilenceWithinPolicy(matchers: readonly SilenceMatcher[], policy: LimitedPolicy): boolean {
  return policy.selectors.some((selector) => selector.every((rule) => matchers.some((m) => confinesTo(m, rule))));
}

/**
 * The policy as Alertmanager `filter` matchers (`namespace="a"`, `namespace=~"a|b"`; Alertmanager anchors
 * regexes). Quoting follows Alertmanager's matcher parser, classic and UTF-8 alike: `\\`, `\"` and `\n`.
 * Filters AND, so a policy of several selectors gets none: the response filter alone limits it (exact).
 */
export function formatFilterMatchers(policy: LimitedPolicy): string[] {
  if (policy.selectors.length !== 1) return [];
  return selectorMatchers(policy.selectors[0] as LabelSelector).map(
    (m: PolicyMatcher) => `${m.label}${m.op}"${escapeMatcherValue(m.value)}"`,
  );
}

function escapeMatcherValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The single value a missing label may be given (a rule of exactly one literal), else undefined. */
export function injectableValue(rule: LabelRule): string | undefined {
  return rule.regexes.length === 0 && rule.literals.length === 1 ? rule.literals[0] : undefined;
}
