import { policyMatchers, type LabelPolicy, type LabelRule, type PolicyMatcher } from '../../policy/label-policy.js';

/**
 * The label policy applied to Alertmanager objects (API v2): alert label sets and silence matchers.
 * Pure; the preset (alertmanager.ts) turns answers into HTTP errors and filtered bodies.
 */

/** A silence matcher as the v2 API writes it (`isEqual` is absent before 0.22 and then means true). */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

type LimitedPolicy = Extract<LabelPolicy, { fullAccess: false }>;

function isValueAllowed(rule: LabelRule, value: string): boolean {
  if (rule.literals.includes(value)) return true;
  return rule.regexes.some((re) => new RegExp(`^(?:${re})$`, 'u').test(value));
}

/** The first rule an alert's labels break, or undefined when they satisfy the policy. */
export function findViolatedRule(labels: Readonly<Record<string, unknown>>, policy: LimitedPolicy): LabelRule | undefined {
  return policy.rules.find((rule) => {
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
 * A silence belongs to the policy when, for every rule, one of its matchers confines it to allowed values
 * (silence matchers are ANDed, so one confining matcher per rule is enough). A silence that could mute
 * another tenant's alerts is outside.
 */
export function isSilenceWithinPolicy(matchers: readonly SilenceMatcher[], policy: LimitedPolicy): boolean {
  return policy.rules.every((rule) => matchers.some((m) => confinesTo(m, rule)));
}

/**
 * The policy as Alertmanager `filter` matchers (`namespace="a"`, `namespace=~"a|b"`; Alertmanager anchors
 * regexes). Quoting follows Alertmanager's matcher parser, classic and UTF-8 alike: `\\`, `\"` and `\n`.
 */
export function formatFilterMatchers(policy: LabelPolicy): string[] {
  return policyMatchers(policy).map((m: PolicyMatcher) => `${m.label}${m.op}"${escapeMatcherValue(m.value)}"`);
}

function escapeMatcherValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The single value a missing label may be given (a rule of exactly one literal), else undefined. */
export function injectableValue(rule: LabelRule): string | undefined {
  return rule.regexes.length === 0 && rule.literals.length === 1 ? rule.literals[0] : undefined;
}
