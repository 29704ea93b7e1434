import type { GrafanaSelector } from '../config/sections/auth.js';
import { FULL_ACCESS, buildLabelPolicy, mergeLabelPolicies, type LabelPolicy } from '../policy/label-policy.js';
import type { Scope } from './identity.js';

/** What one Grafana team (or configured service account) grants. */
export interface GrafanaGrant {
  readonly tenants: readonly string[];
  /** Undefined: the team grants no policy (deny by default). */
  readonly policy: LabelPolicy | undefined;
  readonly scopes: readonly Scope[];
}

/** A team's policy from its config: explicit full access, its selectors (ORed), or none. */
export function buildGrantPolicy(entry: { readonly full_access: boolean; readonly selectors?: readonly GrafanaSelector[] | undefined }): LabelPolicy | undefined {
  if (entry.full_access) return FULL_ACCESS;
  if (entry.selectors === undefined) return undefined;
  const selectors = entry.selectors.map(selectorPolicy);
  if (selectors.length === 1) return selectors[0];
  // Until multi-selector policies exist, several selectors are combined only where the per-label merge is
  // exact: every selector constrains the same one label.
  const labels = new Set(entry.selectors.flatMap((s) => Object.keys(s)));
  if (labels.size === 1 && entry.selectors.every((s) => Object.keys(s).length === 1)) return mergeLabelPolicies(selectors);
  throw new Error('several selectors over different labels need multi-selector policies');
}

function selectorPolicy(selector: GrafanaSelector): LabelPolicy | undefined {
  const [first, ...rest] = Object.entries(selector);
  if (first === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const [label, value] of rest) {
    if (Array.isArray(value)) throw new Error(`selector label ${label}: several values need multi-selector policies`);
    labels[label] = value as string;
  }
  return buildLabelPolicy({ label: first[0], values: typeof first[1] === 'string' ? [first[1]] : first[1], labels });
}

/**
 * The identity of several grants (a user's teams): tenants and scopes are the union of theirs, the policy the
 * union of their policies (full access if any grants it). Grants without a policy add nothing.
 */
export function unionGrants(grants: readonly GrafanaGrant[]): { tenants: string[]; policy: LabelPolicy | undefined; scopes: Scope[] } {
  const granting = grants.filter((g) => g.policy !== undefined);
  const policies = granting.map((g) => g.policy as LabelPolicy);
  const policy = policies.some((p) => p.fullAccess) ? FULL_ACCESS : unionPolicies(policies);
  return {
    tenants: [...new Set(granting.flatMap((g) => g.tenants))],
    policy,
    scopes: [...new Set(granting.flatMap((g) => g.scopes))],
  };
}

function unionPolicies(policies: readonly LabelPolicy[]): LabelPolicy | undefined {
  if (policies.length <= 1) return policies[0];
  const labels = new Set(policies.flatMap((p) => (p.fullAccess ? [] : p.rules.map((r) => r.label))));
  if (labels.size === 1 && policies.every((p) => !p.fullAccess && p.rules.length === 1)) return mergeLabelPolicies(policies);
  throw new Error('the union of these teams\' policies needs multi-selector policies');
}
