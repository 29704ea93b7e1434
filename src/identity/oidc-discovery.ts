import { request } from 'undici';
import type { Dispatcher } from 'undici';

/** What we need from an OpenID Provider's metadata. */
export interface OidcMetadata {
  readonly issuer: string;
  readonly jwksUri: string;
}

export interface DiscoverOptions {
  readonly fetchTimeoutMs: number;
  readonly dispatcher?: Dispatcher;
}

/**
 * OpenID Connect Discovery 1.0: GET `<issuer>/.well-known/openid-configuration` (§4; a trailing slash of the
 * issuer is not doubled). The document's `issuer` must be identical to the configured one (§4.3), else an
 * attacker-controlled metadata document could make us trust another issuer's keys.
 */
export async function discoverOidc(issuer: string, options: DiscoverOptions): Promise<OidcMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json' },
    headersTimeout: options.fetchTimeoutMs,
    bodyTimeout: options.fetchTimeoutMs,
    ...(options.dispatcher !== undefined ? { dispatcher: options.dispatcher } : {}),
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`OIDC discovery: GET ${url} answered ${response.statusCode}`);
  }
  const document: unknown = await response.body.json();
  return parseMetadata(document, issuer);
}

export function parseMetadata(document: unknown, issuer: string): OidcMetadata {
  if (typeof document !== 'object' || document === null) throw new Error('OIDC discovery: metadata is not an object');
  const { issuer: advertised, jwks_uri: jwksUri } = document as { issuer?: unknown; jwks_uri?: unknown };
  if (advertised !== issuer) {
    throw new Error(`OIDC discovery: metadata issuer ${JSON.stringify(advertised)} is not the configured issuer ${JSON.stringify(issuer)}`);
  }
  if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw new Error('OIDC discovery: metadata has no valid jwks_uri');
  return { issuer, jwksUri };
}
