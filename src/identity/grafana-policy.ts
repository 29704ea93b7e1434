import type { GrafanaSelector } from '../config/sections/auth.js';
import { FULL_ACCESS, buildSelectorsPolicy, unionLabelPolicies, type LabelPolicy } from '../policy/label-policy.js';
import type { Scope } from './identity.js';

/** What one Grafana team (or configured service account) grants. */
export interface GrafanaGrant {
  readonly tenants: readonly string[];
  /** Undefined: the team grants no policy (deny by default). */
  readonly policy: LabelPolicy | undefined;
  readonly scopes: readonly Scope[];
}

/**
 * A team's policy from its config: explicit full access, its selectors (matchers inside one selector AND,
 * selectors OR: Grafana's own model), or none.
 */
export function buildGrantPolicy(entry: {
  readonly full_access: boolean;
  readonly selectors?: readonly GrafanaSelector[] | undefined;
}): LabelPolicy | undefined {
  if (entry.full_access) return FULL_ACCESS;
  return entry.selectors === undefined ? undefined : buildSelectorsPolicy(entry.selectors);
}

/**
 * The identity of several grants (a user's teams): tenants and scopes are the union of theirs, the policy the
 * exact union of their selectors (full access if any grants it). Grants without a policy add nothing.
 */
export function unionGrants(grants: readonly GrafanaGrant[]): { tenants: string[]; policy: LabelPolicy | undefined; scopes: Scope[] } {
  const granting = grants.filter((g) => g.policy !== undefined);
  return {
    tenants: [...new Set(granting.flatMap((g) => g.tenants))],
    policy: unionLabelPolicies(granting.map((g) => g.policy)),
    scopes: [...new Set(granting.flatMap((g) => g.scopes))],
  };
}
