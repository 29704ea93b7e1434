/**
 * Rule configuration (the ruler's YAML: Loki `/loki/api/v1/rules…`, Mimir `/prometheus/config/v1/rules…`) cut
 * down to what an identity limited by a label policy may see. The ruler stores rule groups per tenant, by
 * namespace (a rule file); nothing in a group says which label values it reads except its expressions, so a
 * group is shown only when every one of its rules provably reads and claims inside the policy.
 *
 * A rule is inside the policy when all of these hold:
 * - its `expr` is a string that parses with the ruler's grammar (PromQL for Mimir, LogQL for Loki) and every
 *   selector of it carries each policy rule: at least one positive matcher on the rule's label, and every
 *   positive matcher on that label is the policy's own matcher or an equality on a provably allowed value
 *   (the check `findUnenforcedSelectors` runs after every PromQL rewrite, with the same one-sided RE2 test,
 *   policy-values.ts). A selector the policy would have to rewrite reads more than the policy allows;
 * - its `labels`, where they name a policy label, hold a value the policy provably allows: a rule writing
 *   `namespace: team-b` onto its results claims another namespace, whatever it reads (absent policy labels
 *   are fine: the series keep what their selectors chose);
 * - it has at least one selector: a rule that reads nothing (`vector(1)`) is tied to no namespace;
 * - no label or annotation template calls `query` (`{{ query "…" }}` reads series outside the expression at
 *   evaluation time; templates are shown as written otherwise).
 * A group is shown only when every rule is inside and it names no `source_tenants` (federated rule groups read
 * other tenants). Groups are shown whole or not at all, so a visible group is exactly what the ruler runs.
 *
 * Shapes: a listing (`/rules`, `/rules/{namespace}`) is a mapping namespace → list of groups; namespaces left
 * without groups are dropped. A single group (`/rules/{namespace}/{group}`) is one group mapping. Returns
 * `undefined` when nothing is left, so the caller answers as the ruler does for no rule groups (404).
 *
 * Full access returns the body unchanged. A body that is not one YAML document of the expected shape (binary,
 * compressed, JSON error, HTML) throws UnsupportedInput: it is never relayed unfiltered.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { LabelPolicy, LabelRule } from '../../policy/label-policy.js';
import { ruleToMatcher } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { findSelectors, parseLogQuery } from '../logql/parse.js';
import { readSelectorMatchers } from '../logql/selector.js';
import { compileRuleCheck, type ValueCheck } from '../promql/policy-values.js';
import { parsePromQL } from '../promql/parse.js';
import { findUnenforcedSelectors } from '../promql/verify.js';

/** The grammar of the ruler's expressions. */
export type RuleLanguage = 'promql' | 'logql';

/** A listing (namespace → groups) or one group. */
export type RuleConfigShape = 'namespaces' | 'group';

type LimitedPolicy = Extract<LabelPolicy, { fullAccess: false }>;
type YamlMap = Record<string, unknown>;

/** Decides, per rule, whether it is inside the policy (see the module contract). */
export type RuleCheck = (rule: unknown) => boolean;

/**
 * Filters a ruler's YAML answer to the policy (module contract above).
 * @returns the YAML to send, or `undefined` when no group is visible.
 * @throws UnsupportedInput when the body is not one YAML document of the expected shape.
 */
export function filterRuleConfig(body: Buffer, policy: LabelPolicy, language: RuleLanguage, shape: RuleConfigShape): Buffer | undefined {
  if (policy.fullAccess) return body;
  const document = parseDocument(body);
  const isRuleVisible = compileRuleVisibility(policy, language);
  if (shape === 'group') return isGroupVisible(expectMap(document, 'rule group'), isRuleVisible) ? toYaml(document) : undefined;
  const out: YamlMap = {};
  for (const [namespace, groups] of Object.entries(expectMap(document, 'rule namespaces'))) {
    const visible = expectList(groups, `namespace ${namespace}`).filter((group) => isGroupVisible(expectMap(group, 'rule group'), isRuleVisible));
    if (visible.length > 0) out[namespace] = visible;
  }
  return Object.keys(out).length === 0 ? undefined : toYaml(out);
}

/** The per-rule decision for a limited policy, compiled once per response. */
export function compileRuleVisibility(policy: LimitedPolicy, language: RuleLanguage): RuleCheck {
  const readsInside = language === 'promql' ? promqlReadsInside(policy) : logqlReadsInside(policy);
  const claims = policy.rules.map((rule) => ({ label: rule.label, isAllowed: compileRuleCheck(rule) }));
  return (rule) => {
    if (!isMap(rule) || typeof rule['expr'] !== 'string') return false;
    const labels = rule['labels'] ?? {};
    const annotations = rule['annotations'] ?? {};
    if (!isMap(labels) || !isMap(annotations)) return false;
    if (!Object.values(labels).every((v) => typeof v === 'string') || !Object.values(annotations).every((v) => typeof v === 'string')) return false;
    if ([...Object.values(labels), ...Object.values(annotations)].some((v) => callsQuery(v as string))) return false;
    if (!claims.every(({ label, isAllowed }) => !Object.hasOwn(labels, label) || isAllowed(labels[label] as string))) return false;
    return readsInside(rule['expr']);
  };
}

/** A rule group (rulefmt: `name`, `rules`, …); anything else is an answer of another shape. */
function isGroupVisible(group: YamlMap, isRuleVisible: RuleCheck): boolean {
  if (typeof group['name'] !== 'string') throw new UnsupportedInput('unexpected upstream response: rule group without a name');
  const rules = expectList(group['rules'] ?? [], 'group rules');
  const sourceTenants = group['source_tenants'];
  if (sourceTenants !== undefined && sourceTenants !== null && !(Array.isArray(sourceTenants) && sourceTenants.length === 0)) return false;
  return rules.length > 0 && rules.every(isRuleVisible);
}

function promqlReadsInside(policy: LimitedPolicy): (expr: string) => boolean {
  return (expr) => {
    try {
      return parsePromQL(expr).selectors.length > 0 && findUnenforcedSelectors(expr, policy).length === 0;
    } catch {
      return false; // a rule that does not parse is not shown
    }
  };
}

/** The LogQL twin of `findUnenforcedSelectors`: every stream selector carries every policy rule. */
function logqlReadsInside(policy: LimitedPolicy): (expr: string) => boolean {
  const rules = policy.rules.map((rule) => ({ rule, matcher: ruleToMatcher(rule), isAllowed: compileRuleCheck(rule) }));
  return (expr) => {
    try {
      const parsed = parseLogQuery(expr);
      const selectors = findSelectors(parsed);
      return selectors.length > 0 && selectors.every((node) => {
        const matchers = readSelectorMatchers(parsed, node);
        return rules.every(({ rule, matcher, isAllowed }) => carries(matchers, rule, matcher, isAllowed));
      });
    } catch {
      return false;
    }
  };
}

function carries(
  matchers: readonly { label: string; op: string; value: string }[],
  rule: LabelRule,
  policyMatcher: { op: string; value: string },
  isAllowed: ValueCheck,
): boolean {
  const positives = matchers.filter((m) => m.label === rule.label && (m.op === '=' || m.op === '=~'));
  return (
    positives.length > 0 &&
    positives.every((m) => (m.op === policyMatcher.op && m.value === policyMatcher.value) || (m.op === '=' && isAllowed(m.value)))
  );
}

/** A Go template action that calls `query` (Prometheus' template function that runs a query). */
function callsQuery(template: string): boolean {
  return /\{\{(?:(?!\}\}).)*\bquery\b/s.test(template);
}

function parseDocument(body: Buffer): unknown {
  try {
    return parseYaml(new TextDecoder('utf-8', { fatal: true }).decode(body), { uniqueKeys: true, maxAliasCount: 0 });
  } catch {
    throw new UnsupportedInput('unexpected upstream response: rule configuration is not one YAML document');
  }
}

function toYaml(value: unknown): Buffer {
  return Buffer.from(stringifyYaml(value), 'utf8');
}

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectMap(value: unknown, what: string): YamlMap {
  if (!isMap(value)) throw new UnsupportedInput(`unexpected upstream response: ${what} is not a mapping`);
  return value;
}

function expectList(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new UnsupportedInput(`unexpected upstream response: ${what} is not a list`);
  return value;
}
