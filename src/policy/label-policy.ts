/**
 * The label policy: which label values an identity may read or write.
 *
 * A policy is either explicit full access, or a list of selectors ORed together (disjunctive normal form, as
 * Grafana's LBAC rules and Mimir's label-policy header): a series is allowed when it matches at least one
 * selector. A selector is a list of rules, one per label, ANDed together. Each rule allows a set of values of
 * its label: literal values and RE2 regexes (fully anchored when enforced, as Prometheus anchors matchers).
 * A series matches a selector when, for every rule, its label value matches one of the rule's literals or
 * regexes. Most policies have one selector (lfgw's and k8spin's shapes always do). "No policy" is not a
 * policy: an identity without one carries `undefined` and enforcing upstreams deny it (implicit deny).
 */

export interface LabelRule {
  readonly label: string;
  /** Exact values. */
  readonly literals: readonly string[];
  /** RE2 regexes, unanchored source; enforcement anchors them. Never match the empty string (checked). */
  readonly regexes: readonly string[];
}

/** One selector: its rules AND (one rule per label, at least one rule). */
export type LabelSelector = readonly LabelRule[];

export type LabelPolicy = { readonly fullAccess: true } | { readonly fullAccess: false; readonly selectors: readonly LabelSelector[] };

/** A policy that limits: at least one selector, each with at least one rule. */
export type LimitedPolicy = Extract<LabelPolicy, { fullAccess: false }>;

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
  return freezePolicy([rules]);
}

/** One selector as configs write it: label → a value or values (literals, or regexes when they look like one). */
export type SelectorInput = Readonly<Record<string, string | readonly string[]>>;

/**
 * Builds a policy from a list of selectors (the `selectors` form of every identity source): each selector is
 * label → value(s), its labels ANDed; the selectors are ORed (`unionLabelPolicies` normalises them). A value is
 * a literal, or an RE2 regex when it looks like one (`looksLikeRegex`, as lfgw); `.*` among a label's values
 * drops that label's constraint, and a selector left with no constraint (`{namespace: '.*'}`) is full access.
 * An empty selector (`{}`) or a label with no value is refused (it would silently mean "everything").
 * Returns `undefined` for an empty list (no policy).
 */
export function buildSelectorsPolicy(selectors: readonly SelectorInput[]): LabelPolicy | undefined {
  const policies = selectors.map((selector, index) => {
    const entries = Object.entries(selector);
    if (entries.length === 0) throw new PolicyError(`selector ${index + 1} names no label`);
    const rules: LabelRule[] = [];
    for (const [label, raw] of entries) {
      const values: readonly string[] = typeof raw === 'string' ? [raw] : raw;
      if (values.length === 0) throw new PolicyError(`selector ${index + 1}: label "${label}" has no value`);
      const rule = makeRule(
        label,
        values.filter((v) => v !== '.*'),
      ); // validates the name and the other values
      if (!values.includes('.*')) rules.push(rule);
    }
    return rules.length === 0 ? FULL_ACCESS : freezePolicy([rules]);
  });
  return unionLabelPolicies(policies);
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

/** What an identity source's entry may name: today's shapes (`PolicyInput`), or a `selectors` list. */
export interface EntryPolicyInput extends PolicyInput {
  readonly selectors?: readonly SelectorInput[] | undefined;
}

/**
 * The policy of one entry of a tokens file, users file or token claims: `selectors` (the list form), or
 * today's shapes (`label`/`values`/`labels`, lfgw's and k8spin's). Both in one entry is refused: whether the
 * `labels` should AND into every selector or be one more selector is a guess we do not make.
 */
export function buildEntryPolicy(input: EntryPolicyInput): LabelPolicy | undefined {
  if (input.selectors === undefined) return buildLabelPolicy(input);
  if ((input.values ?? []).length > 0 || Object.keys(input.labels ?? {}).length > 0) {
    throw new PolicyError('give either "selectors" or namespace(s)/labels, not both');
  }
  if (input.selectors.length === 0) throw new PolicyError('"selectors" is empty');
  return buildSelectorsPolicy(input.selectors);
}

/**
 * Reads a `selectors` value from untyped input (a JWT claim, a YAML document): a list of objects of label →
 * string or list of strings. Throws PolicyError naming what is wrong.
 */
export function readSelectorsInput(raw: unknown): SelectorInput[] {
  if (!Array.isArray(raw)) throw new PolicyError('"selectors" must be a list of label → value(s) objects');
  return raw.map((selector, index) => {
    if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) {
      throw new PolicyError(`selector ${index + 1} must be an object of label → value(s)`);
    }
    for (const [label, value] of Object.entries(selector as Record<string, unknown>)) {
      const isValues = typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
      if (!isValues) throw new PolicyError(`selector ${index + 1}: label "${label}" must be a string or a list of strings`);
    }
    return selector as SelectorInput;
  });
}

/**
 * The exact union of several policies (roles, teams, sources): full access wins; otherwise the selectors of all
 * of them, ORed. The list is normalised without changing what it allows: identical selectors are kept once, a
 * selector provably inside another is dropped (absorbed), and selectors that constrain the same labels with the
 * same values except on one label are joined into one selector (`{ns="a",env="p"}` and `{ns="b",env="p"}` →
 * `{ns=~"a|b",env="p"}`), so sources that constrain one label (ACL roles) still give one selector.
 * `undefined` entries (no policy) add nothing; all `undefined` → `undefined`.
 */
export function unionLabelPolicies(policies: readonly (LabelPolicy | undefined)[]): LabelPolicy | undefined {
  const present = policies.filter((p): p is LabelPolicy => p !== undefined);
  if (present.length === 0) return undefined;
  if (present.some((p) => p.fullAccess)) return FULL_ACCESS;
  const selectors = present.flatMap((p) => (p.fullAccess ? [] : p.selectors));
  return freezePolicy(normaliseSelectors(selectors));
}

function normaliseSelectors(input: readonly LabelSelector[]): LabelRule[][] {
  let selectors = input.map((s) => [...s]);
  for (;;) {
    const before = selectors.length;
    selectors = joinSelectors(dropAbsorbed(selectors));
    if (selectors.length === before) return selectors;
  }
}

/** Drops every selector provably inside another one (of two equal selectors, the first is kept). */
function dropAbsorbed(selectors: LabelRule[][]): LabelRule[][] {
  return selectors.filter(
    (narrow, i) => !selectors.some((wide, j) => j !== i && selectorCovers(wide, narrow) && (j < i || !selectorCovers(narrow, wide))),
  );
}

/** Joins two selectors over the same labels that differ on one label only (exact: `(A∧x)∨(A∧y) = A∧(x∨y)`). */
function joinSelectors(selectors: LabelRule[][]): LabelRule[][] {
  const out: LabelRule[][] = [];
  for (const selector of selectors) {
    let joined = false;
    for (let k = 0; k < out.length && !joined; k++) {
      const merged = joinTwo(out[k] as LabelRule[], selector);
      if (merged !== undefined) {
        out[k] = merged;
        joined = true;
      }
    }
    if (!joined) out.push(selector);
  }
  return out;
}

function joinTwo(a: LabelRule[], b: LabelRule[]): LabelRule[] | undefined {
  // Only selectors with one rule per label: with two rules on a label (a file entry's `namespace` and a
  // `labels.namespace`), matching rules by label would pair the wrong ones and widen.
  if (a.length !== b.length || !hasOneRulePerLabel(a) || !hasOneRulePerLabel(b)) return undefined;
  let differing: number | undefined;
  for (let i = 0; i < a.length; i++) {
    const ruleA = a[i] as LabelRule;
    const ruleB = b.find((r) => r.label === ruleA.label);
    if (ruleB === undefined) return undefined;
    if (sameRule(ruleA, ruleB)) continue;
    if (differing !== undefined) return undefined;
    differing = i;
  }
  if (differing === undefined) return a;
  const ruleA = a[differing] as LabelRule;
  const ruleB = b.find((r) => r.label === ruleA.label) as LabelRule;
  const merged = {
    label: ruleA.label,
    literals: dedupe([...ruleA.literals, ...ruleB.literals]),
    regexes: dedupe([...ruleA.regexes, ...ruleB.regexes]),
  };
  return a.map((rule, i) => (i === differing ? merged : rule));
}

function hasOneRulePerLabel(selector: readonly LabelRule[]): boolean {
  return new Set(selector.map((rule) => rule.label)).size === selector.length;
}

function sameRule(a: LabelRule, b: LabelRule): boolean {
  return a.label === b.label && sameSet(a.literals, b.literals) && sameSet(a.regexes, b.regexes);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}

/**
 * Provably: every series `narrow` allows, `wide` allows. For each rule of `wide`, `narrow` has a rule on the
 * same label whose literals are `wide`'s literals or fully matched by one of `wide`'s regexes, and whose
 * regexes are among `wide`'s regexes (as written: regex inclusion is not decided). A regex is run here only
 * on configured literals, anchored, with JavaScript's engine; a pattern it cannot compile covers nothing.
 */
export function selectorCovers(wide: LabelSelector, narrow: LabelSelector): boolean {
  return wide.every((w) => {
    const n = narrow.find((r) => r.label === w.label);
    if (n === undefined) return false;
    return (
      n.regexes.every((re) => w.regexes.includes(re)) &&
      n.literals.every((lit) => w.literals.includes(lit) || w.regexes.some((re) => fullyMatches(re, lit)))
    );
  });
}

function fullyMatches(regex: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${regex})$`, 'u').test(value);
  } catch {
    return false;
  }
}

/** A policy that limits what is seen (not full access, not "no policy"): the only case responses need filtering. */
export function isLimitedPolicy(policy: LabelPolicy | undefined): policy is LimitedPolicy {
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

/** The matchers of one selector, ANDed. */
export function selectorMatchers(selector: LabelSelector): readonly PolicyMatcher[] {
  return selector.map(ruleToMatcher);
}

/** The one-selector policy of one of a policy's selectors (frozen, like every policy). */
export function policyOfSelector(selector: LabelSelector): LimitedPolicy {
  return Object.freeze({ fullAccess: false, selectors: Object.freeze([selector]) });
}

/** The policy's only selector, or `undefined` when it has several (a caller that cannot OR must refuse). */
export function singleSelector(policy: LimitedPolicy): LabelSelector | undefined {
  return policy.selectors.length === 1 ? policy.selectors[0] : undefined;
}

/**
 * The matchers that enforce a one-selector policy (empty for full access). Throws PolicyError for a policy of
 * several selectors: one list of ANDed matchers cannot carry it (use `policy.selectors`).
 */
export function policyMatchers(policy: LabelPolicy): readonly PolicyMatcher[] {
  if (policy.fullAccess) return [];
  const selector = singleSelector(policy);
  if (selector === undefined) throw new PolicyError('a policy of several selectors has no single list of matchers');
  return selectorMatchers(selector);
}

/**
 * A stable text form, for cache keys and logs (no secrets in a policy): `full`, `none`, one selector's
 * matchers (`namespace="a",env="prod"`), or several selectors in braces joined by ` or `.
 */
export function describePolicy(policy: LabelPolicy | undefined): string {
  if (policy === undefined) return 'none';
  if (policy.fullAccess) return 'full';
  const described = policy.selectors.map((selector) =>
    selectorMatchers(selector)
      .map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`)
      .join(','),
  );
  return described.length === 1 ? (described[0] as string) : described.map((d) => `{${d}}`).join(' or ');
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function freezePolicy(selectors: LabelRule[][]): LabelPolicy {
  // A limited policy with no selector, or a selector with no rule, would enforce nothing: never build one.
  if (selectors.length === 0) throw new PolicyError('a label policy needs at least one selector');
  for (const rules of selectors) {
    if (rules.length === 0) throw new PolicyError('a label policy selector needs at least one rule');
    for (const rule of rules) {
      Object.freeze(rule.literals);
      Object.freeze(rule.regexes);
      Object.freeze(rule);
    }
    Object.freeze(rules);
  }
  return Object.freeze({ fullAccess: false, selectors: Object.freeze(selectors) });
}
