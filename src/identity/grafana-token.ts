import { decodeProtectedHeader } from 'jose';
import type { JWTPayload } from 'jose';
import type { Clock } from '../core/clock.js';
import { Forbidden, HttpError, Unauthorized } from '../core/http-errors.js';
import { ExpiringCache, digestKey } from './expiring-cache.js';
import type { JwksKeySource } from './jwks-source.js';
import { isJwtShaped, verifyJwt } from './jwt-verify.js';

/** Who an `X-Grafana-Id` names, once verified. */
export interface GrafanaPrincipal {
  /** `sub`'s type: `user`, `service-account` (the only two ever accepted; the authenticator decides). */
  readonly type: string;
  /** `sub`'s numeric id: the `userId` of the teams API for a user. */
  readonly id: string;
  readonly orgId: number;
  /** `exp`, seconds since epoch. */
  readonly exp: number;
  /** The `username` claim where Grafana signs it (for logs only; never decides anything). */
  readonly login?: string;
}

export interface GrafanaTokenOptions {
  /** Grafana's root_url, with its trailing slash. */
  readonly rootUrl: string;
  readonly orgId: number;
  readonly clockSkewMs: number;
  readonly keys: JwksKeySource;
  readonly clock: Clock;
  readonly cacheMaxEntries: number;
}

export interface GrafanaTokenVerifier {
  verify(token: string): Promise<GrafanaPrincipal>;
  clearCache(): void;
}

/** `sub` as Grafana writes it: `<type>:<numeric id>` (`user:7`, `service-account:3`, `anonymous:0`). */
const SUBJECT = /^([a-z][a-z-]*):(\d{1,19})$/;
const AUDIENCE = /^org:(\d{1,19})$/;

/**
 * Verifies `X-Grafana-Id` as Grafana signs it (pkg/services/auth/idimpl in Grafana's source):
 * - compact JWS, `alg` ES256 only (so `none`, HS256 keyed with the public key and RS256 are refused before any
 *   key is used), a `kid` that names a key of Grafana's JWKS, `typ` `jwt` or absent (added in Grafana 11.1);
 * - `iss` exactly Grafana's root_url, with or without its trailing slash, never a prefix or a longer URL;
 * - `aud` `org:<id>` as a string or a one-element array: another org is 403 `grafana_wrong_org`, anything
 *   else (several audiences, not an org) 401 `wrong_audience`;
 * - `exp` and `iat` required, checked with `clockSkewMs` (Grafana signs no `nbf`);
 * - `sub` `<type>:<id>`, and the `type` claim, where signed, the same type.
 * A signature that fails with a known `kid` may be a key regenerated under the same `kid`: the keys are
 * refetched (rate-limited, single-flight, by the key source) and the token verified once more.
 * Verified tokens are cached until `exp` (Grafana reuses one for up to 9.5 minutes); the key source's
 * change listener clears the cache.
 */
export function createGrafanaTokenVerifier(options: GrafanaTokenOptions): GrafanaTokenVerifier {
  const issuers = [options.rootUrl, options.rootUrl.replace(/\/$/, '')];
  const cache = new ExpiringCache<GrafanaPrincipal>({ maxEntries: options.cacheMaxEntries, clock: options.clock });
  const verifyOptions = { algorithms: ['ES256'], issuer: issuers, clockSkewMs: options.clockSkewMs, clock: options.clock };

  async function verifySignature(token: string): Promise<JWTPayload & { exp: number }> {
    try {
      return await verifyJwt(token, options.keys.getKey, verifyOptions);
    } catch (error) {
      if (!(error instanceof HttpError) || error.code !== 'bad_signature') throw error;
      // A known kid whose signature fails: the key may have been regenerated under the same kid.
      if (!(await options.keys.refetchIfAllowed())) throw error;
      return verifyJwt(token, options.keys.getKey, verifyOptions);
    }
  }

  return {
    async verify(token) {
      // A token verified before is found by its digest first: the shape check is for new tokens only.
      const cacheKey = digestKey(token);
      const cached = cache.get(cacheKey);
      if (cached !== undefined) return cached;
      if (!isJwtShaped(token)) throw new Unauthorized('malformed_token', 'X-Grafana-Id is not a compact JWT');
      checkHeader(token);
      const payload = await verifySignature(token);
      const principal = readPrincipal(payload, options);
      cache.set(cacheKey, principal, principal.exp * 1000);
      return principal;
    },
    clearCache: () => cache.clear(),
  };
}

/** `kid` and `typ` before any key is looked up (`alg` is jose's to refuse, from the allow-list). */
function checkHeader(token: string): void {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new Unauthorized('malformed_token', 'X-Grafana-Id has no readable header');
  }
  if (typeof header.kid !== 'string' || header.kid === '') throw new Unauthorized('malformed_token', 'X-Grafana-Id has no kid');
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt')) {
    throw new Unauthorized('malformed_token', 'X-Grafana-Id has a typ other than jwt');
  }
}

function readPrincipal(payload: JWTPayload & { exp: number }, options: GrafanaTokenOptions): GrafanaPrincipal {
  if (typeof payload.iat !== 'number') throw new Unauthorized('malformed_token', 'X-Grafana-Id lacks iat');
  const orgId = readOrg(payload.aud);
  if (orgId !== options.orgId) throw new Forbidden('grafana_wrong_org', 'the Grafana user belongs to another org');
  const subject = typeof payload.sub === 'string' ? SUBJECT.exec(payload.sub) : null;
  if (subject === null) throw new Unauthorized('invalid_claims', 'X-Grafana-Id sub is not <type>:<id>');
  const type = subject[1] as string;
  const claimedType = (payload as { type?: unknown }).type;
  if (claimedType !== undefined && claimedType !== type) throw new Unauthorized('invalid_claims', 'X-Grafana-Id type and sub disagree');
  const login = (payload as { username?: unknown }).username;
  return Object.freeze({
    type,
    id: subject[2] as string,
    orgId,
    exp: payload.exp,
    ...(typeof login === 'string' && login !== '' ? { login } : {}),
  });
}

/** `org:<id>`, a string or a one-element array (Grafana's JOSE library writes one audience as a string). */
function readOrg(aud: unknown): number {
  const value = Array.isArray(aud) && aud.length === 1 ? aud[0] : aud;
  const match = typeof value === 'string' ? AUDIENCE.exec(value) : null;
  if (match === null) throw new Unauthorized('wrong_audience', 'X-Grafana-Id aud is not one org');
  return Number(match[1]);
}
