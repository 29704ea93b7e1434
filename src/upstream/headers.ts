import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// RFC 9110 §7.6.1: connection-specific fields a proxy must not forward (plus the legacy ones every proxy drops).
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * Headers upstreams treat as authority: a client must never set them. Mimir and Loki enforce
 * X-Prom-Label-Policy; the forwarded-identity headers are what auth proxies in front of Grafana set.
 */
export const AUTHORITY_HEADERS = [
  'x-scope-orgid',
  'x-prom-label-policy',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-remote-user',
  'x-remote-group',
  'x-webauth-user',
];

export interface HeaderPolicy {
  /** Names removed from every request, lower-case: hop-by-hop + authority + tenant headers + configured extras. */
  readonly drop: ReadonlySet<string>;
  /** Credential headers, removed unless the upstream is configured to receive them. */
  readonly credentials: ReadonlySet<string>;
  /**
   * Every name the gateway owns, reads or strips, with `-`: a client header spelled with `_` that reads as
   * one of these (`X_Scope_OrgID`, `x_forwarded_access_token`) is always dropped, since many servers and
   * proxies take `_` for `-` (Go's textproto does not, but nginx with underscores_in_headers, WSGI/CGI
   * and several frameworks do), and the gateway never checked it. Any `X-Forwarded-*` counts as owned.
   */
  readonly protectedNames: ReadonlySet<string>;
}

/**
 * Compiled once per configuration. `tenantHeaders`: every upstream's `tenant_header`; the gateway sets the
 * one of the chosen upstream, and a client-sent copy of any of them never passes.
 */
export function createHeaderPolicy(
  tokenHeaders: readonly string[],
  extraStrip: readonly string[],
  tenantHeaders: readonly string[] = [],
): HeaderPolicy {
  const lower = (names: readonly string[]) => names.map((name) => name.toLowerCase());
  const drop = new Set([
    ...HOP_BY_HOP,
    ...AUTHORITY_HEADERS,
    ...lower(tenantHeaders),
    ...lower(extraStrip),
    'host',
    'expect',
    'x-forwarded-for',
    'x-forwarded-proto',
    'x-forwarded-host',
    'forwarded',
    'x-real-ip',
    // Grafana's signed user: the gateway's to read, never an upstream's to replay (even with forward_credentials).
    'x-grafana-id',
  ]);
  const credentials = new Set([...lower(tokenHeaders), 'authorization', 'x-id-token', 'cookie']);
  const protectedNames = new Set([...drop, ...credentials, 'content-length', 'x-request-id', 'traceparent'].map(asHyphens));
  return { drop, credentials, protectedNames };
}

function asHyphens(name: string): string {
  return name.replaceAll('_', '-');
}

/** True for a client header spelled with `_` that names a header the gateway owns (see `protectedNames`). */
function isProtectedSpelling(name: string, policy: HeaderPolicy): boolean {
  const hyphens = asHyphens(name);
  return policy.protectedNames.has(hyphens) || hyphens.startsWith('x-forwarded-');
}

/**
 * Builds the outgoing header map from the client's headers: drops hop-by-hop fields (including those the
 * client's Connection header names), authority and tenant headers, any of those or of the credential
 * headers spelled with `_`, and, unless `keepCredentials`, the credentials.
 * Values repeated by the client are joined as Node joins them (", ").
 */
export function buildOutgoingHeaders(
  incoming: IncomingHttpHeaders,
  policy: HeaderPolicy,
  keepCredentials: boolean,
): Record<string, string> {
  const connectionTokens = connectionListed(incoming.connection);
  const out: Record<string, string> = {};
  for (const name in incoming) {
    if (policy.drop.has(name) || connectionTokens?.has(name)) continue;
    if (!keepCredentials && policy.credentials.has(name)) continue;
    if (name.includes('_') && isProtectedSpelling(name, policy)) continue;
    const value = incoming[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Response headers minus hop-by-hop fields, ready for `res.writeHead`. */
export function buildResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connectionTokens = connectionListed(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (HOP_BY_HOP.includes(name) || connectionTokens?.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

// The usual Connection values, parsed once (connectionListed runs twice per request).
const KEEP_ALIVE: ReadonlySet<string> = new Set(['keep-alive']);
const CLOSE: ReadonlySet<string> = new Set(['close']);

function connectionListed(value: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (value === 'keep-alive' || value === 'Keep-Alive') return KEEP_ALIVE;
  if (value === 'close' || value === 'Close') return CLOSE;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
