import { BadRequest, Forbidden } from '../core/http-errors.js';

/** What tenants an identity holds (identity/identity.ts's Identity is one). */
export interface TenantHolder {
  readonly tenants: readonly string[];
}

export interface TenantRules {
  /** `a|b` (Mimir/Loki/Tempo query federation) may be sent to this upstream for reads. */
  readonly allowFederation: boolean;
  /** The request writes (push, remote write): exactly one tenant. */
  readonly isWrite: boolean;
}

/**
 * Decides the tenant header value. The client's own X-Scope-OrgID is never trusted: it is kept only when the
 * identity owns every tenant in it. Without one, the identity's single tenant is used; an identity with
 * several must choose (400), except that reads to a federating upstream get all of them.
 *
 * @param clientValues every X-Scope-OrgID value the client sent (repeated headers → 400)
 */
export function resolveTenants(identity: TenantHolder, clientValues: readonly string[] | undefined, rules: TenantRules): string[] {
  if (clientValues && clientValues.length > 1) {
    throw new BadRequest('tenant_header_repeated', 'X-Scope-OrgID was sent more than once');
  }
  const requested = clientValues?.[0];
  let tenants: string[];
  if (requested === undefined || requested === '') {
    if (identity.tenants.length === 1) return [identity.tenants[0] as string];
    if (rules.allowFederation && !rules.isWrite) return [...identity.tenants];
    throw new BadRequest('tenant_required', 'this identity holds several tenants: choose one with X-Scope-OrgID');
  }
  tenants = [...new Set(requested.split('|'))];
  for (const tenant of tenants) {
    if (!identity.tenants.includes(tenant)) {
      throw new Forbidden('tenant_not_allowed', `tenant ${JSON.stringify(tenant.slice(0, 150))} is not allowed for this identity`);
    }
  }
  if (tenants.length > 1) {
    if (rules.isWrite) throw new BadRequest('write_needs_one_tenant', 'a write must name exactly one tenant');
    if (!rules.allowFederation) {
      throw new Forbidden('tenant_federation_not_allowed', 'this upstream does not allow several tenants in one request');
    }
  }
  return tenants;
}
