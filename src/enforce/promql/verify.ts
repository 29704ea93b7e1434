import type { LabelPolicy } from '../../policy/label-policy.js';
import { compilePolicy } from './inject.js';
import { parsePromQL } from './parse.js';
import { decodeSelector, printSelector } from './selector.js';

/**
 * Independent check of an enforced query, used after every rewrite and by the property tests: returns one
 * message per selector that does not carry the policy (empty when the query is enforced). A selector carries
 * a rule for label L when it has at least one positive matcher on L, and every positive matcher on L is either
 * the policy's own matcher or an equality with a provably allowed value. Throws QueryParseError when the query
 * does not parse.
 */
export function findUnenforcedSelectors(query: string, policy: LabelPolicy): string[] {
  if (policy.fullAccess) return [];
  const compiled = compilePolicy(policy);
  const parsed = parsePromQL(query);
  const problems: string[] = [];
  for (const node of parsed.selectors) {
    const selector = decodeSelector(node, parsed.text);
    for (const rule of compiled.rules) {
      const positives = selector.parts.filter(
        (p) => p.kind === 'matcher' && p.label === rule.matcher.label && (p.op === '=' || p.op === '=~'),
      );
      const isCarried =
        positives.length > 0 &&
        positives.every(
          (p) =>
            p.kind === 'matcher' &&
            ((p.op === rule.matcher.op && p.value === rule.matcher.value) || (p.op === '=' && rule.isAllowed(p.value))),
        );
      if (!isCarried) problems.push(`${printSelector(selector)} lacks ${rule.matcher.label}${rule.matcher.op}…`);
    }
  }
  return problems;
}
