/**
 * The parts of a request SigV4 covers, made unambiguous before signing. Spec:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (canonical request).
 */

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX, space as %20. */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Re-encodes the query of the upstream URL in the canonical form, keeping the order of the pairs.
 * Why: the query is read form-style (`+` is a space, as Prometheus, Loki and Tempo read it), but SigV4
 * canonicalises a space as `%20`; a `+` left on the wire would be read as a literal plus by AWS and the
 * signature would not match. aws-sdk-go's signer rewrites `URL.RawQuery` for the same reason.
 */
export function canonicaliseQuery(url: URL): { url: URL; query: Record<string, string | string[]> } {
  const query: Record<string, string | string[]> = {};
  const pieces: string[] = [];
  for (const [key, value] of url.searchParams) {
    pieces.push(`${encodeRfc3986(key)}=${encodeRfc3986(value)}`);
    const seen = query[key];
    if (seen === undefined) query[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else query[key] = [seen, value];
  }
  const canonicalUrl = new URL(url.href);
  canonicalUrl.search = pieces.length === 0 ? '' : `?${pieces.join('&')}`;
  return { url: canonicalUrl, query };
}

/**
 * Headers never signed. Hop-by-hop headers (RFC 9110 §7.6.1) and `content-length`/`host` belong to the
 * connection and are set by the HTTP client; `x-forwarded-*`, `forwarded` and `via` are appended by proxies
 * on the way (RFC 9110 §7.6.3). The rest is the smithy signer's own unsignable list, kept in step so what we
 * report as signed is what it signs. Our own x-amz-* auth headers are replaced, never inherited.
 */
const UNSIGNED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'forwarded',
  'via',
  'authorization',
  'cache-control',
  'expect',
  'from',
  'max-forwards',
  'pragma',
  'referer',
  'user-agent',
  'x-amzn-trace-id',
]);
const REPLACED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token']);

function isSignable(name: string, connectionTokens: ReadonlySet<string>): boolean {
  return (
    !UNSIGNED_HEADERS.has(name) &&
    !connectionTokens.has(name) &&
    !name.startsWith('x-forwarded-') &&
    !name.startsWith('proxy-') &&
    !name.startsWith('sec-') &&
    !REPLACED_HEADERS.has(name)
  );
}

/** Splits outgoing headers into those the signature covers and those merely passed along. */
export function partitionHeaders(headers: Readonly<Record<string, string>>): {
  signed: Record<string, string>;
  passed: Record<string, string>;
} {
  const connectionTokens = new Set(
    (headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
  const signed: Record<string, string> = {};
  const passed: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (isSignable(name, connectionTokens)) signed[name] = value;
    else if (!REPLACED_HEADERS.has(name) && name !== 'host') passed[name] = value;
  }
  return { signed, passed };
}
