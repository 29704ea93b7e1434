/**
 * The label policy: which label values an identity may read or write.
 *
 * A policy is either explicit full access, or a list of rules, one per label, ANDed together. Each rule
 * allows a set of values of its label: literal values and RE2 regexes (fully anchored when enforced, as
 * Prometheus anchors matchers). A series is allowed when, for every rule, its label value matches one of
 * the rule's literals or regexes. "No policy" is not a policy: an identity without one carries `undefined`
 * and enforcing upstreams deny it (implicit deny).
 */

export interface LabelRule {
  readonly label: string;
  /** Exact values. */
  readonly literals: readonly string[];
  /** RE2 regexes, unanchored source; enforcement anchors them. Never match the empty string (checked). */
  readonly regexes: readonly string[];
}

export type LabelPolicy =
  | { readonly fullAccess: true }
  | { readonly fullAccess: false; readonly rules: readonly LabelRule[] };

/** One matcher as the query languages write it: `label="v"` or `label=~"re"`. */
export interface PolicyMatcher {
  readonly label: string;
  readonly op: '=' | '=~';
  readonly value: string;
}

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

export const FULL_ACCESS: LabelPolicy = Object.freeze({ fullAccess: true });

const RE2_META = /[\\^$.|?*+()[\]{}]/g;

/** Escapes a literal for use inside an RE2 regex (same set as Go's regexp.QuoteMeta). */
export function quoteRegexMeta(literal: string): string {
  return literal.replace(RE2_META, (c) => `\\${c}`);
}

/** lfgw's rule: a value is a regex when it holds a regex metacharacter other than `-`, `_`, `.` alone… */
export function looksLikeRegex(value: string): boolean {
  return /[\\^$|?*+()[\]{}]/.test(value) || /\.[*+?{]/.test(value);
}

/**
 * Refuses a regex that would match the empty string: as a matcher it would also select series that lack
 * the label, which is exactly what a policy must never allow. Checked with JavaScript's engine, which agrees
 * with RE2 on whether the empty string matches for the patterns both accept; a pattern JavaScript cannot
 * compile is refused too (we never guess about a regex we cannot check).
 */
export function assertSafePolicyRegex(label: string, regex: string): void {
  let compiled: RegExp;
  try {
    compiled = new RegExp(`^(?:${regex})$`, 'u');
  } catch {
    throw new PolicyError(`policy regex for label "${label}" is not a valid regular expression: ${regex}`);
  }
  if (compiled.test('')) {
    throw new PolicyError(`policy regex for label "${label}" matches the empty string: ${regex}`);
  }
}

export interface PolicyInput {
  /** Label the `values` constrain (lfgw's configurable label, default `namespace`). */
  readonly label?: string;
  /** Values of `label`: literals, or regexes when they look like one; `.*` means full access. */
  readonly values?: readonly string[];
  /** Extra exact matchers: label → value. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Builds a policy from the shapes token entries, users files, JWT claims and ACL roles carry.
 * Returns `undefined` when the input names no value at all (no policy: implicit deny where enforced).
 * A value `.*` alone, on the only constrained label, is full access.
 */
export function buildLabelPolicy(input: PolicyInput): LabelPolicy | undefined {
  const label = input.label ?? 'namespace';
  const values = input.values ?? [];
  const extra = Object.entries(input.labels ?? {});
  if (values.length === 0 && extra.length === 0) return undefined;
  if (values.includes('.*') && extra.length === 0) return FULL_ACCESS;
  const rules: LabelRule[] = [];
  if (values.length > 0 && !values.includes('.*')) rules.push(makeRule(label, values));
  for (const [name, value] of extra) rules.push(makeRule(name, [value], true));
  return freezePolicy({ fullAccess: false, rules });
}

function makeRule(label: string, values: readonly string[], allLiteral = false): LabelRule {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new PolicyError(`invalid label name: ${label}`);
  const literals: string[] = [];
  const regexes: string[] = [];
  for (const value of values) {
    if (value === '') throw new PolicyError(`empty value for label "${label}"`);
    if (!allLiteral && looksLikeRegex(value)) {
      assertSafePolicyRegex(label, value);
      regexes.push(value);
    } else {
      literals.push(value);
    }
  }
  return { label, literals: dedupe(literals), regexes: dedupe(regexes) };
}

/**
 * Merges the policies of several roles or sources: full access wins; otherwise values of the same label are
 * unioned and different labels ANDed. Exact for single-label sources (ACL roles); for sources that constrain
 * several labels each, the union per label can be wider than any one source, so callers merging such
 * sources should not rely on it.
 */
export function mergeLabelPolicies(policies: readonly (LabelPolicy | undefined)[]): LabelPolicy | undefined {
  const present = policies.filter((p): p is LabelPolicy => p !== undefined);
  if (present.length === 0) return undefined;
  if (present.some((p) => p.fullAccess)) return FULL_ACCESS;
  const byLabel = new Map<string, { literals: string[]; regexes: string[] }>();
  for (const policy of present) {
    if (policy.fullAccess) continue;
    for (const rule of policy.rules) {
      const entry = byLabel.get(rule.label) ?? { literals: [], regexes: [] };
      entry.literals.push(...rule.literals);
      entry.regexes.push(...rule.regexes);
      byLabel.set(rule.label, entry);
    }
  }
  const rules = [...byLabel].map(([label, v]) => ({
    label,
    literals: dedupe(v.literals),
    regexes: dedupe(v.regexes),
  }));
  return freezePolicy({ fullAccess: false, rules });
}

/** A policy that limits what is seen (not full access, not "no policy"): the only case responses need filtering. */
export function isLimitedPolicy(policy: LabelPolicy | undefined): policy is Extract<LabelPolicy, { fullAccess: false }> {
  return policy !== undefined && !policy.fullAccess;
}

/** The one matcher that enforces a rule: `label="v"` for a single literal, else an anchored alternation. */
export function ruleToMatcher(rule: LabelRule): PolicyMatcher {
  if (rule.regexes.length === 0 && rule.literals.length === 1) {
    return { label: rule.label, op: '=', value: rule.literals[0] as string };
  }
  const parts = [...rule.literals.map(quoteRegexMeta), ...rule.regexes];
  return { label: rule.label, op: '=~', value: parts.join('|') };
}

/** The matchers that enforce a policy (empty for full access). */
export function policyMatchers(policy: LabelPolicy): readonly PolicyMatcher[] {
  return policy.fullAccess ? [] : policy.rules.map(ruleToMatcher);
}

/** A stable text form, for cache keys and logs (no secrets in a policy). */
export function describePolicy(policy: LabelPolicy | undefined): string {
  if (policy === undefined) return 'none';
  if (policy.fullAccess) return 'full';
  return policyMatchers(policy)
    .map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`)
    .join(',');
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function freezePolicy(policy: { fullAccess: false; rules: LabelRule[] }): LabelPolicy {
  // A limited policy with no rule would enforce nothing: never build one.
  if (policy.rules.length === 0) throw new PolicyError('a label policy needs at least one rule');
  for (const rule of policy.rules) {
    Object.freeze(rule.literals);
    Object.freeze(rule.regexes);
    Object.freeze(rule);
  }
  Object.freeze(policy.rules);
  return Object.freeze(policy);
}
