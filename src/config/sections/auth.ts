import { z } from 'zod';
import { durationMs } from '../duration.js';

/** The JWT algorithms a provider may allow (identity/jwt-verify.ts checks them before any key is resolved). */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
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

export const hmacJwtSchema = z
  .strictObject({
    secret: z.string().min(1).optional(),
    secret_file: z.string().min(1).optional(),
    algorithms: z.array(z.enum(HMAC_ALGORITHMS)).min(1).default(['HS256']),
    issuer: z.string().min(1).optional(),
    audience: z.array(z.string().min(1)).min(1).optional(),
    ...claimKeys,
  })
  .refine((v) => (v.secret === undefined) !== (v.secret_file === undefined), {
    message: 'set exactly one of secret and secret_file',
  });

export const jwksSchema = z
  .strictObject({
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
  })
  .refine((v) => (v.url === undefined) !== (v.file === undefined), { message: 'set exactly one of url and file' })
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

/**
 * One selector of a Grafana team's policy: label → value or values (values of one label OR, labels AND).
 * A team's `selectors` OR. Values are literals, or RE2 regexes where they look like one (as token entries).
 */
const selectorSchema = z
  .record(z.string().min(1), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]))
  .refine((s) => Object.keys(s).length > 0, { message: 'a selector names at least one label' });

/** What a Grafana team (or a configured service account) may read: its tenants and its label policy. */
const grafanaGrantKeys = {
  tenants: z.array(z.string().min(1)).min(1),
  /** The team's policy; a team with neither selectors nor full_access grants nothing (deny by default). */
  selectors: z.array(selectorSchema).min(1).optional(),
  /** Must be said explicitly, as for fixed_tenant. */
  full_access: z.boolean().default(false),
  scopes: z
    .array(z.enum(['read', 'write', 'admin']))
    .min(1)
    .default(['read', 'write']),
};

const grafanaTeamSchema = z
  .strictObject({
    /** Exactly one of name, uid and id: how the team is found in Grafana's team search. */
    name: z.string().min(1).optional(),
    uid: z.string().min(1).optional(),
    id: z.number().int().positive().optional(),
    ...grafanaGrantKeys,
  })
  .refine((t) => [t.name, t.uid, t.id].filter((k) => k !== undefined).length === 1, { message: 'set exactly one of name, uid and id' })
  .refine((t) => !(t.full_access && t.selectors !== undefined), { message: 'full_access and selectors exclude each other' });

const grafanaServiceAccountSchema = z
  .strictObject({
    /** The numeric id in `sub` (`service-account:<id>`). */
    id: z.number().int().positive(),
    ...grafanaGrantKeys,
  })
  .refine((t) => !(t.full_access && t.selectors !== undefined), { message: 'full_access and selectors exclude each other' });

/**
 * Who may present Grafana users: the identity of the credential set on the scopegate data source (the
 * authenticator that found it — `static-token`, `basic`, … — and its subject: the token's name, the basic
 * user's name), or the subject CN of the client certificate set on it (the listener verifies it against
 * `proxy.tls.client_ca_file`).
 */
const grafanaPresenterSchema = z.union([
  z.strictObject({ authenticator: z.string().min(1), subject: z.string().min(1) }),
  z.strictObject({ client_certificate: z.string().min(1) }),
]);

/**
 * `[auth.grafana]`: Grafana users, from the `X-Grafana-Id` header Grafana signs, presented by Grafana itself
 * (the data source's own credential, `presenters`), mapped to tenants and policies through their teams.
 * Not in `order`: it never answers alone, only for a caller the chain already authenticated.
 */
export const grafanaSchema = z
  .strictObject({
    /** Grafana's root_url, as its tokens' `iss` (a missing trailing slash is added; the keys are below it). */
    url: z.url().refine((u) => /^https?:\/\//.test(u) && !/[?#]/.test(u), { message: 'an http(s) URL without query or fragment' }),
    /** The one org whose users are accepted (`aud` = `org:<org_id>`). */
    org_id: z.number().int().positive().default(1),
    clock_skew: durationMs.prefault('10s'),
    presenters: z.array(grafanaPresenterSchema).min(1),
    /** Service accounts are refused unless listed here. */
    service_accounts: z.array(grafanaServiceAccountSchema).default([]),
    teams: z.array(grafanaTeamSchema).default([]),
    /** The teams API: an org-Admin service-account token (exactly one of api_token and api_token_file). */
    api_token: z.string().min(1).optional(),
    api_token_file: z.string().min(1).optional(),
    teams_refresh_interval: durationMs.prefault('30s').refine((ms) => ms > 0 && ms <= 60_000, { message: 'between 0 and 60s' }),
    /** After the last good team map, requests are served from it this long, then refused (503). */
    teams_grace_period: durationMs.prefault('5m'),
    teams_page_size: z.number().int().min(1).max(1000).default(100),
    /** Own bound on the keys' cache time; the header's max-age is used when shorter. */
    keys_max_age: durationMs.prefault('1h'),
    /** Cache time when the keys come with no-store or no max-age. */
    keys_default_age: durationMs.prefault('5m'),
    /** At most one refetch per this interval on an unknown kid or a failed signature. */
    keys_min_refetch_interval: durationMs.prefault('30s'),
    /** /ready reports the keys stale after this long without a successful fetch. */
    keys_stale_after: durationMs.prefault('2h'),
    fetch_timeout: durationMs.prefault('5s'),
    token_cache_size: z.number().int().nonnegative().default(10_000),
  })
  .refine((v) => (v.api_token === undefined) !== (v.api_token_file === undefined), {
    message: 'set exactly one of api_token and api_token_file',
  })
  .refine((v) => v.clock_skew <= 60_000, { message: 'clock_skew is at most 60s', path: ['clock_skew'] });

export const aclSchema = z.strictObject({
  file: z.string().min(1),
  label: z.string().min(1).default('namespace'),
});

export const PROVIDER_NAMES = ['static', 'basic', 'hmac_jwt', 'jwks', 'oidc', 'fixed_tenant'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export const authSchema = z
  .strictObject({
    /** Chain order; `static` is built by the core. Only configured providers run. */
    order: z.array(z.enum(PROVIDER_NAMES)).default([...PROVIDER_NAMES]),
    basic: basicAuthSchema.optional(),
    hmac_jwt: hmacJwtSchema.optional(),
    jwks: jwksSchema.optional(),
    oidc: oidcSchema.optional(),
    fixed_tenant: fixedTenantSchema.optional(),
    grafana: grafanaSchema.optional(),
  })
  .superRefine((auth, ctx) => {
    if (new Set(auth.order).size !== auth.order.length)
      ctx.addIssue({ code: 'custom', path: ['order'], message: 'order names a provider twice' });
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
export type GrafanaSection = z.infer<typeof grafanaSchema>;
export type GrafanaSelector = z.infer<typeof selectorSchema>;
