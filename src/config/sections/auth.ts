import { z } from 'zod';
import { durationMs } from '../duration.js';

/** The JWT algorithms a provider may allow (identity/jwt-verify.ts checks them before any key is resolved). */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;

/**
 * `[auth.*]` and `[acl]`: which identity providers run, in which order, and how tokens become identities.
 * Keys are snake_case; durations accept "30s"/"5m" or seconds. Only configured sections are built.
 */

const claimKeys = {
  /** Dotted claim path with the tenant (string or array). */
  tenant_claim: z.string().min(1).default('tenant_id'),
  /** Tenant for tokens without the tenant claim; unset = such tokens are refused (`missing_tenant_claim`). */
  default_tenant: z.string().min(1).optional(),
  namespaces_claim: z.string().min(1).default('namespaces'),
  labels_claim: z.string().min(1).default('labels'),
  /** Dotted claim path of the list form: label → value(s) objects, ORed (docs/policies.md). */
  selectors_claim: z.string().min(1).default('selectors'),
  /** Label the namespaces constrain. */
  policy_label: z.string().min(1).default('namespace'),
  clock_skew: durationMs.prefault('30s'),
  /** Bound of the verified-token cache (entries live until the token's `exp`). */
  token_cache_size: z.number().int().nonnegative().default(10_000),
};

const jwksFetchKeys = {
  refresh_interval: durationMs.prefault('300s'),
  /** At most one refetch per this interval on unknown `kid`s (a flood of bad kids cannot hammer the IdP). */
  min_refetch_interval: durationMs.prefault('30s'),
  /** /ready reports the keys stale after this long without a successful refresh. */
  stale_after: durationMs.prefault('900s'),
  fetch_timeout: durationMs.prefault('5s'),
};

export const basicAuthSchema = z.strictObject({
  users_file: z.string().min(1),
  default_tenant: z.string().min(1).optional(),
  policy_label: z.string().min(1).default('namespace'),
  watch: z.boolean().default(true),
  reload_interval: durationMs.prefault('0s'),
  cache_ttl: durationMs.prefault('60s'),
  cache_size: z.number().int().nonnegative().default(1000),
});

export const hmacJwtSchema = z.strictObject({
  secret: z.string().min(1).optional(),
  secret_file: z.string().min(1).optional(),
  algorithms: z.array(z.enum(HMAC_ALGORITHMS)).min(1).default(['HS256']),
  issuer: z.string().min(1).optional(),
  audience: z.array(z.string().min(1)).min(1).optional(),
  ...claimKeys,
}).refine((v) => (v.secret === undefined) !== (v.secret_file === undefined), {
  message: 'set exactly one of secret and secret_file',
});

export const jwksSchema = z.strictObject({
  url: z.url().optional(),
  file: z.string().min(1).optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  /** Strongly advised when several JWT providers are configured: tokens are routed by `iss`. */
  issuer: z.string().min(1).optional(),
  audience: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Roles → policy through `[acl]`, as `oidc` does, for tokens of this provider only when set (opt-in: an ACL
   * written for OIDC must not start granting JWKS tokens that happen to carry a `roles` claim).
   */
  roles_claim: z.string().min(1).optional(),
  /** With `roles_claim`: a role the ACL does not know is itself a label value. */
  assume_roles: z.boolean().default(false),
  ...claimKeys,
  ...jwksFetchKeys,
}).refine((v) => (v.url === undefined) !== (v.file === undefined), { message: 'set exactly one of url and file' })
  .refine((v) => !v.assume_roles || v.roles_claim !== undefined, { message: 'assume_roles needs roles_claim', path: ['assume_roles'] });

export const oidcSchema = z.strictObject({
  issuer: z.url(),
  client_id: z.string().min(1),
  /** `aud` must contain one of these; default: the client id. */
  audience: z.array(z.string().min(1)).min(1).optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  roles_claim: z.string().min(1).default('roles'),
  assume_roles: z.boolean().default(false),
  accept_id_token_header: z.boolean().default(false),
  ...claimKeys,
  ...jwksFetchKeys,
});

export const fixedTenantSchema = z.strictObject({
  tenant: z.string().min(1),
  namespaces: z.array(z.string().min(1)).default([]),
  labels: z.record(z.string(), z.string()).default({}),
  /** The list form instead of namespaces/labels: label → value(s) objects, ORed (docs/policies.md). */
  selectors: z.array(z.record(z.string(), z.union([z.string(), z.array(z.string())]))).optional(),
  policy_label: z.string().min(1).default('namespace'),
  /** Must be said explicitly: without namespaces/labels the identity has no policy (implicit deny). */
  full_access: z.boolean().default(false),
});

export const aclSchema = z.strictObject({
  file: z.string().min(1),
  label: z.string().min(1).default('namespace'),
});

export const PROVIDER_NAMES = ['static', 'basic', 'hmac_jwt', 'jwks', 'oidc', 'fixed_tenant'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export const authSchema = z.strictObject({
  /** Chain order; `static` is built by the core. Only configured providers run. */
  order: z.array(z.enum(PROVIDER_NAMES)).default([...PROVIDER_NAMES]),
  basic: basicAuthSchema.optional(),
  hmac_jwt: hmacJwtSchema.optional(),
  jwks: jwksSchema.optional(),
  oidc: oidcSchema.optional(),
  fixed_tenant: fixedTenantSchema.optional(),
}).superRefine((auth, ctx) => {
  if (new Set(auth.order).size !== auth.order.length) ctx.addIssue({ code: 'custom', path: ['order'], message: 'order names a provider twice' });
  for (const name of PROVIDER_NAMES) {
    if (name !== 'static' && auth[name] !== undefined && !auth.order.includes(name)) {
      ctx.addIssue({ code: 'custom', path: ['order'], message: `[auth.${name}] is configured but not in order` });
    }
  }
  // fixed_tenant accepts every request: anything after it would never run.
  const fixedAt = auth.order.indexOf('fixed_tenant');
  const lastConfigured = auth.order.filter((n) => n === 'static' || auth[n] !== undefined).at(-1);
  if (auth.fixed_tenant !== undefined && fixedAt >= 0 && lastConfigured !== 'fixed_tenant') {
    ctx.addIssue({ code: 'custom', path: ['order'], message: 'fixed_tenant accepts every request, so it must come last' });
  }
});

export type AuthSection = z.infer<typeof authSchema>;
export type AclSection = z.infer<typeof aclSchema>;
export type BasicAuthSection = z.infer<typeof basicAuthSchema>;
export type HmacJwtSection = z.infer<typeof hmacJwtSchema>;
export type JwksSection = z.infer<typeof jwksSchema>;
export type OidcSection = z.infer<typeof oidcSchema>;
export type FixedTenantSection = z.infer<typeof fixedTenantSchema>;
