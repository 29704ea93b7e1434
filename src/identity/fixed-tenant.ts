import type { Logger } from 'pino';
import type { LabelPolicy } from '../policy/label-policy.js';
import type { Authenticator } from './authenticator.js';
import { createIdentity } from './identity.js';
import type { Identity, Scope } from './identity.js';

export interface FixedTenantOptions {
  readonly name?: string;
  readonly tenant: string;
  /** The policy every request gets; `undefined` = none (enforcing upstreams deny). */
  readonly policy: LabelPolicy | undefined;
  readonly scopes?: readonly Scope[];
  readonly logger: Logger;
}

/**
 * "No authentication": every request is the same identity with a fixed tenant and policy, as
 * prom-label-proxy behind an external authenticating proxy. It accepts any request, so in a chain it must be
 * last; it only exists when `[auth.fixed_tenant]` is configured explicitly, and it warns at start so an
 * accidental open gateway is visible in the logs.
 */
export function createFixedTenantAuthenticator(options: FixedTenantOptions): Authenticator {
  const name = options.name ?? 'fixed_tenant';
  const identity: Identity = createIdentity({
    subject: 'anonymous',
    tenants: [options.tenant],
    policy: options.policy,
    authenticator: name,
    ...(options.scopes !== undefined ? { scopes: options.scopes } : {}),
  });
  options.logger.warn(
    { authenticator: name, tenant: options.tenant },
    'fixed_tenant authentication is enabled: every request is accepted without credentials',
  );
  return { name, anonymous: true, authenticate: () => identity };
}
