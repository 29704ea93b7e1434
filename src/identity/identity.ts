import type { LabelPolicy } from '../policy/label-policy.js';

/** What an identity may do: read endpoints, write endpoints (push, remote write), admin endpoints. */
export type Scope = 'read' | 'write' | 'admin';

/**
 * Who is calling, as every authenticator reports it. Built only by `createIdentity`, which checks the
 * invariants: at least one tenant, tenant names that are valid X-Scope-OrgID values, and a policy that is
 * either a real policy, explicit full access, or `undefined` (no policy: upstreams that enforce labels deny).
 */
export interface Identity {
  /** Stable, non-secret name for logs: user name, token id, JWT `sub`. Never the credential. */
  readonly subject: string;
  /** Tenants this identity owns, in configured order; the first is the default when only one. */
  readonly tenants: readonly string[];
  readonly policy: LabelPolicy | undefined;
  readonly scopes: ReadonlySet<Scope>;
  /** Name of the authenticator that decided (for logs: "why was I let in"). */
  readonly authenticator: string;
  /** Seconds since epoch after which the identity must not be used (JWT `exp`); undefined = no expiry. */
  readonly expiresAt?: number;
  /** The token's roles (JWT roles claim), where roles are mapped through the ACL; for limit rules (`roles`). */
  readonly roles?: readonly string[];
  /** A Grafana user presented by Grafana (`[auth.grafana]`): who, in which org, through which teams (access log). */
  readonly grafana?: GrafanaUser;
}

export interface GrafanaUser {
  /** `sub` (`user:7`), with the login where Grafana signed one. */
  readonly user: string;
  readonly org: number;
  /** Names of the mapped teams that decided. */
  readonly teams: readonly string[];
}

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export const DEFAULT_SCOPES: ReadonlySet<Scope> = Object.freeze(new Set<Scope>(['read', 'write']));

// Mimir/Loki/Tempo tenant IDs: up to 150 chars of [a-zA-Z0-9!-_.*'()], never "." or ".."; `|` is the
// federation separator and so never part of one tenant.
const TENANT_RE = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

export function isValidTenantId(tenant: string): boolean {
  return TENANT_RE.test(tenant) && tenant !== '.' && tenant !== '..' && tenant !== '__mimir_cluster';
}

export interface IdentityInput {
  subject: string;
  tenants: readonly string[];
  policy: LabelPolicy | undefined;
  authenticator: string;
  scopes?: Iterable<Scope>;
  expiresAt?: number;
  roles?: readonly string[];
  grafana?: GrafanaUser;
}

export function createIdentity(input: IdentityInput): Identity {
  const tenants = [...new Set(input.tenants)];
  if (tenants.length === 0) throw new IdentityError(`identity "${input.subject}" has no tenant`);
  for (const tenant of tenants) {
    if (!isValidTenantId(tenant)) throw new IdentityError(`invalid tenant id: ${JSON.stringify(tenant)}`);
  }
  const identity: Identity = {
    subject: input.subject,
    tenants: Object.freeze(tenants),
    policy: input.policy,
    scopes: input.scopes ? Object.freeze(new Set(input.scopes)) : DEFAULT_SCOPES,
    authenticator: input.authenticator,
    ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
    ...(input.roles !== undefined ? { roles: Object.freeze([...input.roles]) } : {}),
    ...(input.grafana !== undefined
      ? { grafana: Object.freeze({ ...input.grafana, teams: Object.freeze([...input.grafana.teams]) }) }
      : {}),
  };
  return Object.freeze(identity);
}
