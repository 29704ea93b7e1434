import { describePolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { enforceQuery } from './enforce.js';

/**
 * For the CLI `explain` command: the query exactly as it would be sent upstream under `policy`.
 * Throws QueryParseError like `enforceQuery`.
 */
export function explainQuery(query: string, policy: LabelPolicy): string {
  return enforceQuery(query, policy);
}

/** A short human report: the policy, the query received and the query sent. */
export function describeQueryEnforcement(query: string, policy: LabelPolicy): string {
  return [`policy:   ${describePolicy(policy)}`, `received: ${query}`, `upstream: ${explainQuery(query, policy)}`].join('\n');
}
