import { BadRequest } from '../core/http-errors.js';

export interface RequestTarget {
  /** Percent-decoded, normalised path: what routing, enforcement and the upstream all see. */
  readonly path: string;
  /** Raw query string without `?` (parameters are decoded by the enforcers, every occurrence). */
  readonly query: string;
}

/**
 * Decodes and normalises the request target once (RFC 3986 §5.2.4 dot-segment removal), so the gateway
 * routes on the same path the upstream will route on (Prometheus and Go's mux route on the decoded path).
 *
 * Refused with 400: targets not in origin-form (RFC 9112 §3.2.1), malformed percent-encoding, encoded
 * `/` or `\` or NUL and raw `\` (they would let the gateway and the upstream split segments differently:
 * WHATWG URL parsers read `\` as `/`), and `..` that climbs above the root. `//` collapses to `/`.
 */
export function parseRequestTarget(rawUrl: string): RequestTarget {
  if (!rawUrl.startsWith('/')) throw new BadRequest('bad_request_target', 'request target must be an absolute path');
  const hash = rawUrl.indexOf('#');
  const withoutFragment = hash === -1 ? rawUrl : rawUrl.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  const rawPath = q === -1 ? withoutFragment : withoutFragment.slice(0, q);
  const query = q === -1 ? '' : withoutFragment.slice(q + 1);
  // A raw `\` is not a pchar either, and would leave as `%5C`: the very form refused here when sent encoded.
  if (/%(2f|5c|00)|\\/i.test(rawPath)) {
    throw new BadRequest('bad_request_path', 'encoded "/", "\\" or NUL, or a raw "\\", is not allowed in the path');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new BadRequest('bad_request_path', 'malformed percent-encoding in the path');
  }
  return { path: removeDotSegments(decoded), query };
}

function removeDotSegments(path: string): string {
  // Most paths have no empty or dot segment: nothing to remove (the loop below would return them unchanged).
  if (!path.includes('//') && !path.includes('/.')) return path;
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '' && i < segments.length - 1) continue;
    if (segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) throw new BadRequest('bad_request_path', 'path climbs above the root');
      out.pop();
      continue;
    }
    out.push(segment);
  }
  const last = segments[segments.length - 1];
  const trailing = last === '.' || last === '..' ? '/' : '';
  return `/${out.join('/')}${trailing && out.length > 0 ? trailing : ''}`;
}

// Characters a path segment may carry unencoded (RFC 3986 §3.3 pchar).
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

/** Encodes a normalised path for the wire, so the upstream decodes exactly `path`. */
export function encodePath(path: string): string {
  let out = '';
  for (const char of path) {
    if (char === '/' || PCHAR.test(char)) out += char;
    else out += encodeURIComponent(char);
  }
  return out;
}
