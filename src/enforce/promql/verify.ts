import type { LabelPolicy } from '../../policy/label-policy.js';
import { compileSelectors, type CompiledPolicy } from './inject.js';
import { parsePromQL } from './parse.js';
import { decodeSelector, printSelector, type DecodedSelector } from './selector.js';

/**
 * Independent check of an enforced query, used after every rewrite and by the property tests: returns one
 * message per selector that does not carry the policy (empty when the query is enforced). A selector carries
 * a rule for label L when it has at least one positive matcher on L, and every positive matcher on L is either
 * the policy's own matcher or an equality with a provably allowed value. Throws QueryParseError when the query
 * does not parse. Under a policy of several selectors, a selector must carry every rule of at least one of them
 * (it then reads inside their union), where carrying a rule means at least one positive matcher on its label that
 * is the policy's matcher or a provably allowed equality (the union rewrite keeps the client's other matchers,
 * which PromQL ANDs: they only narrow). That the query reads all of the union is the rewrite's job, not this check's.
 */
export function findUnenforcedSelectors(query: string, policy: LabelPolicy): string[] {
  if (policy.fullAccess) return [];
  const compiled = compileSelectors(policy);
  const parsed = parsePromQL(query);
  const problems: string[] = [];
  for (const node of parsed.selectors) {
    const selector = decodeSelector(node, parsed.text);
    const missing = compiled.map((c) => missingRules(selector, c, compiled.length > 1));
    if (missing.some((labels) => labels.length === 0)) continue;
    const described = missing.map((labels) => labels.map((l) => `${l}…`).join(', ')).join(' | ');
    problems.push(`${printSelector(selector)} lacks ${described}`);
  }
  return problems;
}

/** The labels of the compiled selector's rules that `selector` does not carry. */
function missingRules(selector: DecodedSelector, compiled: CompiledPolicy, isUnion: boolean): string[] {
  const missing: string[] = [];
  for (const rule of compiled.rules) {
    const positives = selector.parts.filter(
      (p) => p.kind === 'matcher' && p.label === rule.matcher.label && (p.op === '=' || p.op === '=~'),
    );
    const confines = (p: (typeof positives)[number]): boolean =>
      p.kind === 'matcher' && ((p.op === rule.matcher.op && p.value === rule.matcher.value) || (p.op === '=' && rule.isAllowed(p.value)));
    const isCarried = isUnion ? positives.some(confines) : positives.length > 0 && positives.every(confines);
    if (!isCarried) missing.push(`${rule.matcher.label}${rule.matcher.op}`);
  }
  return missing;
}
