/**
 * Whether one recording or alerting rule is inside a label policy: the one decision behind both views of the
 * ruler a limited identity gets, the rule configuration (YAML, rule-config.ts) and the Prometheus-style rules
 * API (JSON, rules-alerts.ts). A rule is inside the policy when all of these hold:
 *
 * - its expression is a string that parses with the ruler's grammar (PromQL for Prometheus and Mimir, LogQL
 *   for Loki). An expression with no selector (`vector(1)`) reads nothing: such a rule is shown only when its
 *   labels name an allowed value for every policy label (it says whose it is); unlabelled, it is nobody's;
 * - every selector carries each policy rule: at least one positive matcher on the rule's label, and every
 *   positive matcher on that label is the policy's own matcher or an equality on a provably allowed value.
 *   This is the check `findUnenforcedSelectors` runs after every PromQL rewrite (promql/verify.ts), with the
 *   same one-sided RE2 test (promql/policy-values.ts): a selector the enforcer would have to rewrite reads
 *   more than the policy allows. A narrower regex (`namespace=~"team-a"`) is not proven and not accepted;
 * - its labels, where they name a policy label, hold a value the policy provably allows: a rule writing
 *   `namespace: team-b` onto its results claims another namespace, whatever it reads. An absent policy label is
 *   fine: the results keep what the selectors chose;
 * - no label or annotation template calls `query` (`{{ query "…" }}` runs a query of its own at evaluation
 *   time, outside the expression); other templates are shown as written.
 * Labels and annotations must be maps of strings; anything else is not inside.
 * Under a policy of several selectors (ORed), "carries the policy" means carries one of them (each selector of
 * the expression may carry a different one: the rule reads inside their union), and the labels must hold values
 * one selector allows (the one whose labels they name, for an expression that reads nothing).
 */
import type { LabelRule, LabelSelector, LimitedPolicy } from '../../policy/label-policy.js';
import { ruleToMatcher } from '../../policy/label-policy.js';
import { findSelectors, parseLogQuery } from '../logql/parse.js';
import { readSelectorMatchers } from '../logql/selector.js';
import { parsePromQL } from '../promql/parse.js';
import { compileRuleCheck, type ValueCheck } from '../promql/policy-values.js';
import { findUnenforcedSelectors } from '../promql/verify.js';

/** The grammar of the ruler's expressions. */
export type RuleLanguage = 'promql' | 'logql';

/** A rule as both APIs carry it: the expression (`expr` in YAML, `query` in JSON), labels, annotations. */
export interface RuleParts {
  readonly expr: unknown;
  readonly labels: unknown;
  readonly annotations: unknown;
}

export type { LimitedPolicy };

/** Compiles the decision once per response (see the module contract). */
export function compileRuleVisibility(policy: LimitedPolicy, language: RuleLanguage): (rule: RuleParts) => boolean {
  const readsInside = language === 'promql' ? promqlReadsInside(policy) : logqlReadsInside(policy.selectors);
  const claimSets = policy.selectors.map((selector) => selector.map((rule) => ({ label: rule.label, isAllowed: compileRuleCheck(rule) })));
  return ({ expr, labels = {}, annotations = {} }) => {
    if (typeof expr !== 'string') return false;
    const labelValues = stringMap(labels ?? {});
    const annotationValues = stringMap(annotations ?? {});
    if (labelValues === undefined || annotationValues === undefined) return false;
    if ([...labelValues.values(), ...annotationValues.values()].some(callsQuery)) return false;
    const consistent = claimSets.filter((claims) =>
      claims.every(({ label, isAllowed }) => !labelValues.has(label) || isAllowed(labelValues.get(label) as string)),
    );
    if (consistent.length === 0) return false;
    const reads = readsInside(expr);
    return reads === 'inside' || (reads === 'nothing' && consistent.some((claims) => claims.every(({ label }) => labelValues.has(label))));
  };
}

/** What an expression reads: only inside the policy, something outside it (or unknown), or nothing at all. */
type Reads = 'inside' | 'outside' | 'nothing';

function promqlReadsInside(policy: LimitedPolicy): (expr: string) => Reads {
  return (expr) => {
    try {
      if (parsePromQL(expr).selectors.length === 0) return 'nothing';
      return findUnenforcedSelectors(expr, policy).length === 0 ? 'inside' : 'outside';
    } catch {
      return 'outside'; // a rule that does not parse is not shown
    }
  };
}

/** The LogQL twin of `findUnenforcedSelectors`: every stream selector carries every rule of one policy selector. */
function logqlReadsInside(policySelectors: readonly LabelSelector[]): (expr: string) => Reads {
  const compiled = policySelectors.map((selector) =>
    selector.map((rule) => ({ rule, matcher: ruleToMatcher(rule), isAllowed: compileRuleCheck(rule) })),
  );
  return (expr) => {
    try {
      const parsed = parseLogQuery(expr);
      const selectors = findSelectors(parsed);
      if (selectors.length === 0) return 'nothing';
      const isInside = selectors.every((node) => {
        const matchers = readSelectorMatchers(parsed, node);
        return compiled.some((rules) => rules.every(({ rule, matcher, isAllowed }) => carries(matchers, rule, matcher, isAllowed)));
      });
      return isInside ? 'inside' : 'outside';
    } catch {
      return 'outside';
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

function stringMap(value: unknown): Map<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  if (!entries.every(([, v]) => typeof v === 'string')) return undefined;
  return new Map(entries as [string, string][]);
}
