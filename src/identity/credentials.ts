import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { BadRequest, Unauthorized } from '../core/http-errors.js';
import type { BasicCredential, BearerCredential, Credentials } from './authenticator.js';

/**
 * Finds the caller's credentials once, in the configured headers, in order.
 *
 * - `Authorization: Bearer <t>` (RFC 6750 §2.1) or `Authorization: Basic <b64>` (RFC 7617 §2).
 * - Other token headers (`X-Forwarded-Access-Token`, `X-Auth-Request-Access-Token`, `Token`, as oauth2-proxy
 *   and Grafana send them) carry the bare token, or `Bearer <t>`.
 * - Every header that carries a token must carry the same one: two that disagree are refused (401), so a
 *   proxy in front that adds its own header can never be overridden by a client-chosen one.
 * - A repeated header (two values) is refused the same way.
 * - `X-Id-Token` (Grafana's forwarded ID token) is returned apart; an authenticator decides whether to use it.
 * - `X-Grafana-Id` (Grafana's signed user identity) is returned apart, for the `grafana` authenticator; sent
 *   twice it is refused like a repeated token header.
 * - Credentials of different kinds (Basic, bearer, X-Id-Token) are all returned: the chain checks that they
 *   name one identity (`conflicting_credentials` otherwise, see chain.ts).
 */
export function findCredentials(
  headers: IncomingHttpHeaders,
  distinct: NodeJS.Dict<string[]>,
  tokenHeaders: readonly string[],
  socket?: Socket,
): Credentials {
  let bearer: BearerCredential | undefined;
  let basic: BasicCredential | undefined;
  for (const header of tokenHeaders) {
    const values = distinct[header];
    if (!values || values.length === 0) continue;
    if (values.length > 1) throw new Unauthorized('conflicting_credentials', `header ${header} was sent more than once`);
    const value = (values[0] as string).trim();
    if (value === '') continue;
    const parsed = parseTokenHeader(header, value);
    if (parsed.kind === 'basic') {
      basic = parsed.credential;
      continue;
    }
    if (parsed.kind === 'none') continue;
    if (bearer && bearer.token !== parsed.token) {
      throw new Unauthorized('conflicting_credentials', `headers ${bearer.header} and ${header} carry different tokens`);
    }
    bearer ??= { header, token: parsed.token };
  }
  const idToken = typeof headers['x-id-token'] === 'string' ? headers['x-id-token'].trim() : undefined;
  const grafanaIds = distinct['x-grafana-id'];
  if (grafanaIds !== undefined && grafanaIds.length > 1)
    throw new Unauthorized('conflicting_credentials', 'header x-grafana-id was sent more than once');
  const grafanaId = grafanaIds?.[0]?.trim();
  const clientCertificate = socket instanceof TLSSocket ? verifiedClientCertificate(socket) : undefined;
  return {
    ...(bearer ? { bearer } : {}),
    ...(basic ? { basic } : {}),
    ...(idToken ? { idToken } : {}),
    ...(grafanaId ? { grafanaId } : {}),
    ...(clientCertificate ? { clientCertificate } : {}),
  };
}

/**
 * The subject CN of the client certificate, only when the TLS layer verified it against `client_ca_file`
 * (`authorized`); a listener without client certificates, or a certificate it could not verify, gives none.
 */
function verifiedClientCertificate(socket: TLSSocket): { subject: string } | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, unknown> | undefined;
  const cn = subject?.CN;
  return typeof cn === 'string' && cn !== '' ? { subject: cn } : undefined;
}

type ParsedHeader = { kind: 'bearer'; token: string } | { kind: 'basic'; credential: BasicCredential } | { kind: 'none' };

function parseTokenHeader(header: string, value: string): ParsedHeader {
  const space = value.indexOf(' ');
  const scheme = space === -1 ? '' : value.slice(0, space).toLowerCase();
  const rest = space === -1 ? value : value.slice(space + 1).trim();
  if (scheme === 'bearer') return rest === '' ? { kind: 'none' } : { kind: 'bearer', token: rest };
  if (scheme === 'basic' && header === 'authorization') return { kind: 'basic', credential: decodeBasic(rest) };
  // Authorization with another scheme (Digest, AWS4-HMAC-SHA256, …) is not ours to read.
  if (header === 'authorization') return { kind: 'none' };
  return { kind: 'bearer', token: rest };
}

function decodeBasic(encoded: string): BasicCredential {
  if (!/^[A-Za-z0-9+/]+=*$/.test(encoded)) throw new BadRequest('malformed_credentials', 'Basic credentials are not valid base64');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new BadRequest('malformed_credentials', 'Basic credentials lack the ":" separator');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
