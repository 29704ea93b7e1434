import type { JWTPayload } from 'jose';
import { Unauthorized } from '../core/http-errors.js';
import { PolicyError, buildEntryPolicy, readSelectorsInput, unionLabelPolicies } from '../policy/label-policy.js';
import type { LabelPolicy } from '../policy/label-policy.js';
import { resolveRolesPolicy, type Acl } from '../policy/acl.js';
import { IdentityError, createIdentity } from './identity.js';
import type { Identity } from './identity.js';

/**
 * Turns a verified JWT payload into an `Identity`: tenants from a tenant claim (or a configured default),
 * a label policy from the `namespaces` / `labels` claims (shaped as prometheus-multi-tenant-proxy's users
 * file) or the `selectors` claim (the list form), unioned with any role-derived policy the caller computed
 * (OIDC + ACL).
 */

export interface ClaimMapping {
  /** Dotted claim path holding the tenant (string or array of strings). */
  readonly tenantClaim: string;
  /** Used when the token carries no tenant claim; without it such a token is `missing_tenant_claim`. */
  readonly defaultTenant?: string;
  readonly namespacesClaim: string;
  readonly labelsClaim: string;
  /** Claim of the list form (label → value(s) objects, ORed); unset: not read. */
  readonly selectorsClaim?: string;
  /** Label the namespaces constrain (default `namespace`). */
  readonly policyLabel: string;
}

/** Reads `a.b.c` from nested objects; a claim whose name itself holds dots is tried first (e.g. URL claims). */
export function readClaimPath(payload: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let current: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** A string, or an array of strings, as a list; `undefined` when absent; throws on any other shape. */
export function readStringList(value: unknown, claim: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
  throw new Unauthorized('invalid_claims', `claim "${claim}" must be a string or an array of strings`);
}

function readLabels(value: unknown, claim: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const isStringMap =
    typeof value === 'object' && !Array.isArray(value) && Object.values(value as object).every((v) => typeof v === 'string');
  if (!isStringMap) throw new Unauthorized('invalid_claims', `claim "${claim}" must be an object of strings`);
  return value as Record<string, string>;
}

/** The tenants a token names, or the default; `missing_tenant_claim` when neither. */
export function readTenants(payload: JWTPayload, mapping: ClaimMapping): string[] {
  const tenants = readStringList(readClaimPath(payload, mapping.tenantClaim), mapping.tenantClaim) ?? [];
  if (tenants.length > 0) return tenants;
  if (mapping.defaultTenant !== undefined) return [mapping.defaultTenant];
  throw new Unauthorized('missing_tenant_claim', `token has no "${mapping.tenantClaim}" claim`);
}

/**
 * The policy the `namespaces` and `labels` claims, or the `selectors` claim, describe (undefined when they name
 * nothing). A token naming both shapes is refused (`invalid_claims`), as a file entry would be.
 */
export function readClaimsPolicy(payload: JWTPayload, mapping: ClaimMapping): LabelPolicy | undefined {
  const values = readStringList(readClaimPath(payload, mapping.namespacesClaim), mapping.namespacesClaim);
  const labels = readLabels(readClaimPath(payload, mapping.labelsClaim), mapping.labelsClaim);
  const rawSelectors = mapping.selectorsClaim === undefined ? undefined : readClaimPath(payload, mapping.selectorsClaim);
  return buildPolicyOrReject(() => ({
    label: mapping.policyLabel,
    ...(values ? { values } : {}),
    ...(labels ? { labels } : {}),
    ...(rawSelectors !== undefined && rawSelectors !== null ? { selectors: readSelectorsInput(rawSelectors) } : {}),
  }));
}

function buildPolicyOrReject(input: () => Parameters<typeof buildEntryPolicy>[0]): LabelPolicy | undefined {
  try {
    return buildEntryPolicy(input());
  } catch (error) {
    if (error instanceof PolicyError) throw new Unauthorized('invalid_claims', `token policy claims are invalid: ${error.message}`);
    throw error;
  }
}

/** How a token's roles become a policy (lfgw's model): ACL roles, and optionally roles that name values. */
export interface RolesMapping {
  /** Dotted path of the roles claim (`roles`; Keycloak: `realm_access.roles`). */
  readonly rolesClaim: string;
  readonly acl?: Acl | undefined;
  /** A role the ACL does not know is itself a label value (regex allowed). */
  readonly assumeRoles: boolean;
}

/** The policy a token's roles grant; `undefined` when roles are not mapped (no ACL, no assumed roles). */
export function readRolesPolicy(payload: JWTPayload, roles: RolesMapping, policyLabel: string): LabelPolicy | undefined {
  if (roles.acl === undefined && !roles.assumeRoles) return undefined;
  return resolveRolesPolicy(roles.acl ?? { label: policyLabel, roles: new Map() }, readRoleNames(payload, roles), {
    assumeRoles: roles.assumeRoles,
  });
}

/** The token's role names (the roles claim), for the identity's `roles`. */
export function readRoleNames(payload: JWTPayload, roles: Pick<RolesMapping, 'rolesClaim'>): string[] {
  return readStringList(readClaimPath(payload, roles.rolesClaim), roles.rolesClaim) ?? [];
}

export interface ClaimsIdentityInput {
  readonly payload: JWTPayload & { exp: number };
  readonly mapping: ClaimMapping;
  readonly authenticator: string;
  /** Policy from roles (ACL, assumed roles), merged with the claims' own policy. */
  readonly rolesPolicy?: LabelPolicy | undefined;
  /** The token's roles, where roles are mapped (kept on the identity for limit rules). */
  readonly roles?: readonly string[] | undefined;
}

/**
 * Builds the identity of a verified token. Subject is `sub` (else `client_id`, else "jwt"); `expiresAt` is
 * `exp`, so nothing downstream keeps it longer. Invalid tenants become `invalid_claims`, not a 500.
 */
export function createIdentityFromClaims(input: ClaimsIdentityInput): Identity {
  const { payload, mapping } = input;
  const tenants = readTenants(payload, mapping);
  const policy = unionLabelPolicies([readClaimsPolicy(payload, mapping), input.rolesPolicy]);
  const subject = typeof payload.sub === 'string' ? payload.sub : typeof payload['client_id'] === 'string' ? payload['client_id'] : 'jwt';
  try {
    return createIdentity({
      subject,
      tenants,
      policy,
      authenticator: input.authenticator,
      expiresAt: payload.exp,
      ...(input.roles ? { roles: input.roles } : {}),
    });
  } catch (error) {
    if (error instanceof IdentityError) throw new Unauthorized('invalid_claims', 'token names an invalid tenant');
    throw error;
  }
}
