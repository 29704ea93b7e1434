/**
 * OTLP/HTTP trace ingest validation (Tempo's distributor, `POST /v1/traces`): every resource a limited
 * identity writes must be one its policy lets it read back.
 *
 * The body is read the way the OpenTelemetry Collector's OTLP receiver (which Tempo's distributor embeds)
 * reads it (OTLP/HTTP spec, "Binary Protobuf Encoding" / "JSON Protobuf Encoding"): `Content-Type`
 * `application/x-protobuf` or `application/json` (media type compared case-insensitively, parameters
 * ignored, as Go's mime.ParseMediaType), optionally `Content-Encoding: gzip`.
 *
 * - Protobuf is read at the wire level (otlp-traces-wire.ts), resource attributes only. When every resource
 *   is allowed, the received bytes are forwarded: as they came (same Buffer, same headers) without
 *   compression, or the decompressed bytes that were checked (without `content-encoding`) after gzip.
 * - JSON is parsed and always re-serialised from what was checked (JSON.parse keeps the last of duplicate
 *   members, Go's decoders may merge or append them: the forwarded text has none). Integers beyond 2^53 are
 *   refused rather than rounded: OTLP/JSON writes 64-bit integers as strings.
 * - Full access: nothing is decoded; the request is forwarded as received.
 */
import type { LabelPolicy } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import type { TraceQueryOptions } from '../traceql/conditions.js';
import {
  compileResourceCheck,
  expectJsonObject,
  jsonListOf,
  readJsonResourceAttributes,
  refuseAliases,
  type ResourceAttributes,
  type ResourceCheck,
} from '../traceql/resource-attributes.js';
import { decompressBody } from './decompress-body.js';
import { readTraceResources } from './otlp-traces-wire.js';

export interface OtlpTracesInput {
  readonly body: Buffer;
  /** The request's `content-type` header, if any. */
  readonly contentType: string | undefined;
  /** The request's `content-encoding` header, if any. */
  readonly contentEncoding: string | undefined;
}

export interface OtlpTracesOptions extends TraceQueryOptions {
  /** Bound on the gunzipped body, against decompression bombs. */
  readonly maxDecodedBytes: number;
}

/** The body to forward. */
export interface OtlpTracesOutput {
  readonly body: Buffer;
  /**
   * Send `body` with this content type and without `content-encoding`. Undefined when `body` is the
   * request's own body, to be forwarded with the request's own headers.
   */
  readonly contentType: 'application/json' | 'application/x-protobuf' | undefined;
}

const JSON_CONTEXT = 'malformed OTLP JSON';

/**
 * Checks that the resource of every ResourceSpans of an OTLP trace export is allowed by the policy (the
 * decision of trace-by-id filtering, `compileResourceCheck`: the attribute carrying each rule's label must be
 * a string the rule allows; missing, non-string or conflicting repeated attributes are not allowed) and
 * returns the body to forward. A request without resource spans is allowed (it writes nothing).
 * Full access returns the body untouched without decoding it.
 * @throws PolicyViolation naming the first offending ResourceSpans by index and the attributes checked
 *   (nothing may be forwarded).
 * @throws UnsupportedInput for a missing or unknown content type or a content encoding other than gzip
 *   (`mediaType: true`), or a body that does not decode.
 */
export function enforceOtlpTraces(input: OtlpTracesInput, policy: LabelPolicy, options: OtlpTracesOptions): OtlpTracesOutput {
  if (policy.fullAccess) return { body: input.body, contentType: undefined };
  const mediaType = readMediaType(input.contentType);
  const isGzip = readContentEncoding(input.contentEncoding);
  const body = isGzip ? decompressBody(input.body, 'gzip', options.maxDecodedBytes, 'OTLP body') : input.body;
  const check = compileResourceCheck(policy, options);
  if (mediaType === 'application/json') {
    const request = parseJsonRequest(body);
    const resourceSpans = jsonListOf(request, 'resourceSpans', JSON_CONTEXT);
    checkResources(
      resourceSpans.map((entry) => readJsonResourceAttributes(expectJsonObject(entry, 'resource spans', JSON_CONTEXT), JSON_CONTEXT)),
      check,
    );
    return { body: Buffer.from(JSON.stringify(request), 'utf8'), contentType: 'application/json' };
  }
  checkResources(readTraceResources(body), check);
  return isGzip ? { body, contentType: 'application/x-protobuf' } : { body: input.body, contentType: undefined };
}

function checkResources(resources: readonly ResourceAttributes[], check: ResourceCheck): void {
  const index = resources.findIndex((resource) => !check.isAllowed(resource));
  if (index < 0) return;
  const attributes = check.attributes.map((attribute) => JSON.stringify(attribute)).join(', ');
  throw new PolicyViolation(`resource spans #${index}: resource attribute ${attributes} missing or not allowed by the label policy`);
}

/** Parses the ExportTraceServiceRequest; integers JSON numbers cannot hold exactly are refused. */
function parseJsonRequest(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'), refuseInexactNumbers);
  } catch (error) {
    if (error instanceof UnsupportedInput) throw error;
    throw new UnsupportedInput('OTLP body is not valid JSON');
  }
  const request = expectJsonObject(parsed, 'request', JSON_CONTEXT);
  refuseAliases(request, ['resourceSpans'], JSON_CONTEXT);
  return request;
}

function refuseInexactNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))) {
    throw new UnsupportedInput(`${JSON_CONTEXT}: a number is out of exact range; write 64-bit integers as strings`);
  }
  return value;
}

/** Go's mime.ParseMediaType, as far as the receiver's choice depends on it: lower-cased, parameters dropped. */
function readMediaType(contentType: string | undefined): 'application/json' | 'application/x-protobuf' {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type === 'application/x-protobuf') return type;
  throw new UnsupportedInput(
    type === '' ? 'OTLP ingest needs a Content-Type' : 'OTLP ingest accepts application/x-protobuf or application/json',
    { mediaType: true },
  );
}

/** True for gzip, false for none; anything else is refused. */
function readContentEncoding(contentEncoding: string | undefined): boolean {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '') return false;
  if (encoding === 'gzip') return true;
  throw new UnsupportedInput('OTLP ingest accepts Content-Encoding gzip or none', { mediaType: true });
}
