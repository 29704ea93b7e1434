import { z } from 'zod';
import { durationMs } from '../duration.js';
import { parseListenAddress } from '../listen.js';
import { signSchema } from './sign.js';
import { haKeys, normaliseBackends } from './backends.js';

/**
 * The core section of the configuration: `log_level`, `[proxy]` with its upstreams, `[admin]` and `[tracing]`.
 * `../config.ts` extends it with the other sections (auth, acl, secrets, limits) into the whole schema,
 * `configSchema`. Keys are snake_case as in LGTM Auth Proxy's TOML; the parsed value is normalised
 * (durations in ms, listen addresses split, regexes compiled) and frozen by `load.ts`.
 */

const listen = z.string().transform((text, ctx) => {
  const address = parseListenAddress(text);
  if (!address) {
    ctx.addIssue({ code: 'custom', message: `invalid listen address ${JSON.stringify(text)} (use ":8000" or "127.0.0.1:8000")` });
    return z.NEVER;
  }
  return address;
});

const regex = z.string().transform((source, ctx) => {
  try {
    // Full match, as the Host routing rule is "the whole host name matches".
    return new RegExp(`^(?:${source})$`, 'i');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(error as Error).message}` });
    return z.NEVER;
  }
});

const httpUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid URL ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `upstream URL must be http or https, got ${url.protocol}` });
    return z.NEVER;
  }
  if (url.search || url.hash || url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'upstream URL must not carry a query, fragment or credentials' });
    return z.NEVER;
  }
  return url;
});

/** `upstream = "…"` or `upstream = ["…", "…"]`, each checked as `httpUrl` (its message kept, not zod's union's). */
const urlOrUrls = z.union([z.string(), z.array(z.string()).min(1)]).transform((value, ctx): URL | URL[] => {
  const parse = (text: string, path: (string | number)[]): URL => {
    const result = httpUrl.safeParse(text);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path });
      return z.NEVER;
    }
    return result.data;
  };
  return typeof value === 'string' ? parse(value, []) : value.map((text, i) => parse(text, [i]));
});

export const UPSTREAM_TYPES = ['raw', 'prometheus', 'victoriametrics', 'mimir', 'loki', 'tempo', 'alertmanager'] as const;
export type UpstreamType = (typeof UPSTREAM_TYPES)[number];

const componentsSchema = z
  .object({
    distributor: httpUrl.optional(),
    query_frontend: httpUrl.optional(),
    querier: httpUrl.optional(),
    ruler: httpUrl.optional(),
    alertmanager: httpUrl.optional(),
    compactor: httpUrl.optional(),
    ingester: httpUrl.optional(),
  })
  .strict();

/** TLS to an upstream: a private CA, a client certificate (mTLS), the name to verify. */
export const upstreamTlsSchema = z
  .object({
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** SNI and the name checked in the certificate (default: the URL's host). */
    server_name: z.string().min(1).optional(),
    /** Accept any certificate. For tests only: the upstream is then whoever answers. */
    insecure_skip_verify: z.boolean().default(false),
  })
  .strict()
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), { message: 'set both cert_file and key_file, or neither' });

/** TLS on the proxy listener: the gateway's certificate; with `client_ca_file`, clients must present one (mTLS). */
export const listenerTlsSchema = z
  .object({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    client_ca_file: z.string().min(1).optional(),
  })
  .strict();

export const upstreamSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]+$/)
      .optional(),
    match: regex,
    /** One URL, or several (backends with weight 1). */
    upstream: urlOrUrls.optional(),
    /** `[[proxy.upstreams.backends]]`: the backends with their weights (instead of `upstream`). */
    backends: z
      .array(
        z
          .object({
            url: httpUrl,
            /** Relative share of requests; 0 keeps a standby that gets traffic only when the others are down. */
            weight: z.number().int().min(0).max(1000).default(1),
          })
          .strict(),
      )
      .min(1)
      .optional(),
    ...haKeys,
    priority: z.number().int().default(0),
    type: z.enum(UPSTREAM_TYPES).default('raw'),
    path_prefix: z
      .string()
      .regex(/^\/[^?#]*[^/?#]$/, 'path_prefix must start with "/" and not end with "/"')
      .optional(),
    timeout: durationMs.default(30_000),
    dial_timeout: durationMs.default(10_000),
    max_idle_conns: z.number().int().positive().default(100),
    idle_conn_timeout: durationMs.default(90_000),
    /** Forward the caller's Authorization / token headers to the upstream (default: strip them). */
    forward_credentials: z.boolean().default(false),
    /** Allow `a|b` in X-Scope-OrgID for reads (Mimir/Loki/Tempo tenant federation). */
    allow_federation: z.boolean().default(false),
    /** Safe mode: admin endpoints are refused unless this is set. */
    allow_admin: z.boolean().default(false),
    /** `raw`: let identities limited by a label policy through with the tenant header only (policy not enforced). */
    allow_unenforced_policy: z.boolean().default(false),
    /** Write endpoints (push, remote write); default: allowed for mimir/loki/tempo, refused for prometheus and victoriametrics. */
    allow_write: z.boolean().optional(),
    policy_label: z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
      .default('namespace'),
    inject_labels_on_write: z.boolean().default(false),
    native_label_policy_header: z.boolean().default(false),
    /**
     * With `native_label_policy_header`: the upstream is known to enforce X-Prom-Label-Policy itself (Loki's
     * `lbac.enabled`, GEM/GEL). A request the gateway cannot limit exactly to a policy of several selectors
     * (a LogQL log query, …) is then sent as written with the header instead of refused. Never set it for an
     * upstream that ignores the header: such requests would read the whole tenant.
     */
    native_label_policy_enforced: z.boolean().default(false),
    /**
     * Tempo: the resource attribute that carries each policy label, e.g. `{ namespace = "k8s.namespace.name" }`
     * (default: the label name itself, `resource.namespace`).
     */
    traceql_attributes: z
      .record(
        z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name'),
        z.string().regex(/^[a-zA-Z_](?:[a-zA-Z0-9_.]*[a-zA-Z0-9_])?$/, 'must be a TraceQL attribute name'),
      )
      .optional(),
    /** Name of the tenant header sent upstream. */
    tenant_header: z.string().default('X-Scope-OrgID'),
    components: componentsSchema.optional(),
    /** Sign every request to this upstream with AWS SigV4, after all rewriting. */
    sign: signSchema.optional(),
    tls: upstreamTlsSchema.optional(),
    /**
     * aws-signing-proxy's ASP_FLUSH_INTERVAL. Accepted for compatibility: scopegate writes each upstream chunk
     * to the client as it arrives (no response buffering), which is what a flush interval of 0 means.
     */
    flush_interval: durationMs.optional(),
  })
  .strict()
  // One list of backends, whichever form was written; `upstream` stays the first one's URL (the name, TLS).
  .transform((config, ctx) => {
    const backends = normaliseBackends(config.upstream, config.backends);
    if (typeof backends === 'string') {
      ctx.addIssue({ code: 'custom', message: backends, path: ['upstream'] });
      return z.NEVER;
    }
    return { ...config, upstream: (backends[0] as { url: URL }).url, backends };
  });

export const DEFAULT_TOKEN_HEADERS = ['authorization', 'x-forwarded-access-token', 'x-auth-request-access-token', 'token'] as const;

export const proxySchema = z
  .object({
    listen: listen.default({ host: '0.0.0.0', port: 8000 }),
    upstreams: z.array(upstreamSchema).min(1, 'at least one upstream is required'),
    token_headers: z
      .array(z.string().toLowerCase())
      .min(1)
      .default([...DEFAULT_TOKEN_HEADERS]),
    /** Extra client headers to drop before anything else (on top of the built-in authority headers). */
    strip_headers: z.array(z.string().toLowerCase()).default([]),
    max_body_bytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    max_response_filter_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    shutdown_timeout: durationMs.default(30_000),
    /** Worker processes (node:cluster) sharing the listen port; 1 = single process. */
    workers: z.number().int().min(1).max(64).default(1),
    /** Serve HTTPS (certificate files are read again on every reload: rotation without restart). */
    tls: listenerTlsSchema.optional(),
  })
  .strict();

export const adminSchema = z
  .object({
    listen: listen.default({ host: '0.0.0.0', port: 8081 }),
  })
  .strict();

/**
 * `[tracing]`: export one span per request to an OpenTelemetry collector over OTLP/HTTP. Without it the
 * gateway still continues W3C trace context to the upstream, and logs the trace id.
 */
export const tracingSchema = z
  .object({
    /** The collector's traces URL, e.g. `http://otel-collector:4318/v1/traces`. */
    otlp_endpoint: httpUrl,
    service_name: z.string().min(1).default('scopegate'),
    /** Share of the traces the gateway starts that are recorded; a caller's sampled trace always is. */
    sample_ratio: z.number().min(0).max(1).default(1),
    /** Extra headers for the collector (e.g. its auth), usually from `${ENV}`. */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const coreSchema = z.object({
  log_level: z.enum(LOG_LEVELS).default('info'),
  proxy: proxySchema,
  admin: adminSchema.default({ listen: { host: '0.0.0.0', port: 8081 } }),
  tracing: tracingSchema.optional(),
});
