import { z } from 'zod';
import { durationMs } from '../duration.js';

/**
 * The upstream `sign` table: sign every request to this upstream with AWS SigV4, after all rewriting.
 * Credential sources are a tagged union on `type`; secrets arrive through `${ENV}` substitution (load.ts).
 *
 *   [upstreams.sign]
 *   service = "aps"
 *   region = "us-east-1"
 *   credentials = { type = "web_identity", role_arn = "arn:aws:iam::1:role/r", token_file = "/var/run/token" }
 */

const url = z.string().refine((text) => URL.canParse(text) && /^https?:/.test(text), 'must be an http(s) URL');
const nonEmpty = z.string().min(1);

/** STS settings shared by the web-identity flows. The STS endpoint falls back to the SDK's AWS_ENDPOINT_URL_STS. */
const stsFields = {
  role_arn: nonEmpty,
  session_name: z
    .string()
    .regex(/^[\w+=,.@-]{2,64}$/, 'must be 2-64 characters of [A-Za-z0-9_+=,.@-]')
    .default('scopegate'),
  /** Requested session length (STS allows 15m to the role's maximum). */
  duration: durationMs.optional(),
  sts_endpoint: url.optional(),
  /** Defaults to the `sign.region`, so a regional STS endpoint is used. */
  sts_region: nonEmpty.optional(),
};

const defaultChain = z.object({ type: z.literal('default'), profile: nonEmpty.optional() }).strict();

const staticKeys = z
  .object({
    type: z.literal('static'),
    access_key_id: nonEmpty,
    secret_access_key: nonEmpty,
    session_token: nonEmpty.optional(),
  })
  .strict();

const webIdentity = z.object({ type: z.literal('web_identity'), token_file: nonEmpty, ...stsFields }).strict();

const oidc = z
  .object({
    type: z.literal('oidc'),
    token_url: url,
    client_id: nonEmpty,
    client_secret: nonEmpty.optional(),
    client_secret_file: nonEmpty.optional(),
    scope: nonEmpty.optional(),
    audience: nonEmpty.optional(),
    ...stsFields,
  })
  .strict()
  .refine((c) => (c.client_secret === undefined) !== (c.client_secret_file === undefined), {
    message: 'set exactly one of client_secret or client_secret_file',
  });

const vault = z
  .object({
    type: z.literal('vault'),
    address: url,
    mount: nonEmpty.default('aws'),
    role: nonEmpty,
    /** `creds` (IAM user or assumed role, GET /v1/<mount>/creds/<role>) or `sts` (GET /v1/<mount>/sts/<role>). */
    endpoint: z.enum(['creds', 'sts']).default('creds'),
    token: nonEmpty.optional(),
    token_file: nonEmpty.optional(),
    namespace: nonEmpty.optional(),
    /** Requested lease TTL (the `ttl` parameter of the creds/sts endpoints). */
    ttl: durationMs.optional(),
  })
  .strict()
  .refine((c) => (c.token === undefined) !== (c.token_file === undefined), {
    message: 'set exactly one of token or token_file',
  });

export const credentialsSchema = z.discriminatedUnion('type', [defaultChain, staticKeys, webIdentity, oidc, vault]);

const breakerSchema = z
  .object({
    // aws-signing-proxy's defaults (ASP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=5, ASP_CIRCUIT_BREAKER_TIMEOUT=60s).
    failure_threshold: z.number().int().positive().default(5),
    open_timeout: durationMs.default(60_000),
  })
  .strict();

export const signSchema = z
  .object({
    /** SigV4 service name: `aps` (Amazon Managed Prometheus), `es`, `aoss`, `execute-api`, ... */
    service: nonEmpty,
    region: nonEmpty,
    /** Send streamed bodies as UNSIGNED-PAYLOAD (only where the service accepts it); else bodies are buffered. */
    unsigned_payload: z.boolean().default(false),
    credentials: credentialsSchema.default({ type: 'default' }),
    breaker: breakerSchema.prefault({}),
    refresh_before: durationMs.default(300_000),
    retry_after_failure: durationMs.default(10_000),
    fetch_timeout: durationMs.default(10_000),
  })
  .strict();

export type SignConfig = z.output<typeof signSchema>;
export type CredentialsConfig = z.output<typeof credentialsSchema>;
