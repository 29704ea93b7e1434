import { Response } from 'undici';
import { UnsupportedInput } from './errors.js';

/**
 * Request parameters, as a Go upstream (Prometheus, Mimir, Thanos, VictoriaMetrics) reads them, and the
 * outgoing request rebuilt from enforced values only.
 *
 * Go's `Request.ParseForm` reads a form body (POST, PUT, PATCH only) before the URL and `FormValue` takes the
 * first of repeated keys; keys are percent-decoded (`%71uery` is `query`); the media type is matched
 * case-insensitively (`mime.ParseMediaType`). A gateway that enforced only "the" query and forwarded the rest
 * would let an unenforced copy win. So we return every occurrence from both places, the caller enforces each
 * one, and `writeRequestParams` replaces the URL and body with one canonical encoding of those values: the
 * upstream cannot see a value we did not enforce, whatever its own decoding quirks.
 *
 * Media types: `application/x-www-form-urlencoded`, and `multipart/form-data` (its non-file fields; parts with
 * a filename are ignored as Go's FormValue ignores them), re-sent as urlencoded. Any other body, a body without
 * Content-Type, or a Content-Encoding other than identity: UnsupportedInput({ mediaType: true }). A body on
 * another method (e.g. GET) is never read upstream, so it is dropped.
 */

export type Param = readonly [name: string, value: string];

export interface ParamsInput {
  readonly method: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** The outgoing request as far as its parameters go; rewritten in place (routing's ProxyRequest is one). */
export interface ParamsRequest {
  readonly method: string;
  query: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

const FORM_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const URLENCODED = 'application/x-www-form-urlencoded';
const MULTIPART = 'multipart/form-data';

/** Every parameter occurrence, form body first, then URL, each in its order of appearance. */
export async function readRequestParams(input: ParamsInput): Promise<Param[]> {
  const fromUrl = [...new URLSearchParams(input.query)];
  if (!FORM_METHODS.has(input.method.toUpperCase()) || input.body === undefined || input.body.length === 0) {
    return fromUrl;
  }
  return [...(await readFormBody(input.headers, input.body)), ...fromUrl];
}

async function readFormBody(headers: Readonly<Record<string, string>>, body: Buffer): Promise<Param[]> {
  const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') throw new UnsupportedInput(`content-encoding ${encoding} is not supported`, { mediaType: true });
  const contentType = headers['content-type'];
  const mediaType = readMediaType(contentType);
  if (mediaType === URLENCODED) return [...new URLSearchParams(body.toString('utf8'))];
  if (mediaType === MULTIPART && contentType !== undefined) return readMultipart(contentType, body);
  throw new UnsupportedInput(`unsupported request body media type: ${mediaType || 'none'}`, { mediaType: true });
}

/** The media type without parameters, lower-cased (RFC 9110 §8.3.1: type and subtype are case-insensitive). */
export function readMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

async function readMultipart(contentType: string, body: Buffer): Promise<Param[]> {
  let form: Awaited<ReturnType<Response['formData']>>;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new UnsupportedInput('malformed multipart/form-data body');
  }
  const params: Param[] = [];
  for (const [name, value] of form) {
    if (typeof value === 'string') params.push([name, value]);
  }
  return params;
}

/** Encodes parameters canonically (`application/x-www-form-urlencoded`, which Go also parses for URLs). */
export function encodeParams(params: readonly Param[]): string {
  const search = new URLSearchParams();
  for (const [name, value] of params) search.append(name, value);
  return search.toString();
}

/**
 * Rebuilds the outgoing request from `params` only: for POST, PUT and PATCH one urlencoded form body and an
 * empty URL query; otherwise the URL query and no body. Content-Length is set to the new body.
 */
export function writeRequestParams(req: ParamsRequest, params: readonly Param[]): void {
  const encoded = encodeParams(params);
  delete req.headers['content-encoding'];
  delete req.headers['transfer-encoding'];
  if (FORM_METHODS.has(req.method.toUpperCase())) {
    req.query = '';
    req.body = Buffer.from(encoded, 'utf8');
    req.headers['content-type'] = URLENCODED;
    req.headers['content-length'] = String(req.body.length);
    return;
  }
  req.query = encoded;
  req.body = undefined;
  delete req.headers['content-type'];
  delete req.headers['content-length'];
}
