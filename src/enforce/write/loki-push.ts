/**
 * Loki push validation: every stream of a push must carry the policy's labels (or get them injected).
 *
 * The body is decoded the way Loki's distributor decodes it (pkg/loghttp/push/push.go): `Content-Encoding`
 * "", "snappy" (a no-op marker), "gzip" or "deflate" (raw DEFLATE, as Go's compress/flate); then
 * `application/json` is JSON and every other media type is snappy-compressed protobuf.
 *
 * - JSON written in one plain form (loki-push-json-scan.ts: canonical member names, each once, label names
 *   that are identifiers, nothing Loki's two JSON decoders could read another way) is checked from its bytes
 *   and forwarded as it is when nothing changes; in inject mode only the `stream` objects that change are
 *   rewritten, the other bytes copied. Any other JSON is parsed, checked and re-serialised with canonical keys
 *   only (loki-push-json.ts), as Go's JSON decoding has too many readings of one text (duplicate and
 *   differently-cased keys).
 * - Protobuf is read at the wire level (loki-push-wire.ts) and each stream's labels with a strict subset of
 *   Loki's own label-set grammar (loki-stream-labels.ts), so Loki reads the labels that were checked from the
 *   very bytes that were checked. When nothing changes (every stream allowed as sent, no field to drop) the
 *   checked bytes are forwarded as they are, without re-encoding; otherwise only the streams that changed are
 *   rebuilt, the others copied byte for byte.
 * - Full access: nothing is decoded; the request is forwarded as received.
 */
import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { formatSelector } from '../logql/selector.js';
import { releaseBuffer } from '../../core/release-buffer.js';
import { decompressBody } from './decompress-body.js';
import { assertReadableLabels, decodeJsonPush, encodeJsonLabels, encodeJsonPush } from './loki-push-json.js';
import { scanJsonPush } from './loki-push-json-scan.js';
import { compileStreamLabelCheck, type PushLabelMode, type StreamLabelCheck } from './loki-push-labels.js';
import { encodePushRequest, readPushRequest, type WirePushRequest, type WirePushStream } from './loki-push-wire.js';
import { compressSnappy, uncompressSnappy } from './snappy-codec.js';
import { parseStreamLabels } from './loki-stream-labels.js';

export type { PushLabelMode } from './loki-push-labels.js';

export interface LokiPushInput {
  readonly body: Buffer;
  /** The request's `content-type` header, if any. */
  readonly contentType: string | undefined;
  /** The request's `content-encoding` header, if any. */
  readonly contentEncoding: string | undefined;
}

export interface LokiPushOptions {
  readonly mode: PushLabelMode;
  /** Bound on the decompressed body (gzip, deflate, snappy), against decompression bombs. */
  readonly maxDecodedBytes: number;
}

/** The body to forward. */
export interface LokiPushOutput {
  readonly body: Buffer;
  /**
   * Send `body` with this content type and without `content-encoding`. Undefined only for full access, where
   * `body` is the request's own body, to be forwarded with the request's own headers.
   */
  readonly contentType: 'application/json' | 'application/x-protobuf' | undefined;
  /** False when `body` holds the bytes as received (after content decoding): nothing was re-encoded. */
  readonly isModified: boolean;
}

/**
 * Validates (or completes) the labels of every stream of a Loki push and returns the body to forward: the
 * received (content-decoded) bytes themselves when nothing changed (`isModified: false`; for JSON, when the
 * body is in the plain form loki-push-json-scan.ts reads).
 * Full access returns the body untouched without decoding it.
 * @throws PolicyViolation naming the first offending stream (nothing may be forwarded).
 * @throws UnsupportedInput for a missing content type, an unknown content encoding (`mediaType: true`), a
 *   body that does not decode, or stream labels that are not a plain `{name="value", …}` label set.
 */
export function enforceLokiPush(input: LokiPushInput, policy: LabelPolicy, options: LokiPushOptions): LokiPushOutput {
  if (policy.fullAccess) return { body: input.body, contentType: undefined, isModified: false };
  const body = decodeContentEncoding(input, options.maxDecodedBytes);
  const check = compileStreamLabelCheck(policy, options.mode);
  if (readMediaType(input.contentType) === 'application/json') return enforceJsonPush(body, check);
  return enforceProtoPush(body, check, options.maxDecodedBytes);
}

/**
 * Checks every stream of a JSON push. A body in the plain form is forwarded itself unless a stream changed
 * (then only those `stream` objects are rewritten); any other body is read in full and re-serialised.
 */
function enforceJsonPush(body: Buffer, check: StreamLabelCheck): LokiPushOutput {
  const scanned = scanJsonPush(body);
  if (scanned === undefined) {
    const streams = decodeJsonPush(body);
    assertReadableLabels(streams);
    for (const [i, stream] of streams.entries()) stream.labels = check(stream.labels, () => describeStream(i, stream.labels));
    return { body: encodeJsonPush(streams), contentType: 'application/json', isModified: true };
  }
  const pieces: Buffer[] = [];
  let copiedTo = 0;
  for (const [i, stream] of scanned.entries()) {
    const checked = check(stream.labels, () => describeStream(i, stream.labels));
    if (isSameLabelSet(stream.labels, checked)) continue;
    pieces.push(body.subarray(copiedTo, stream.labelsStart), encodeJsonLabels(checked));
    copiedTo = stream.labelsEnd;
  }
  if (pieces.length === 0) return { body, contentType: 'application/json', isModified: false };
  pieces.push(body.subarray(copiedTo));
  return { body: Buffer.concat(pieces), contentType: 'application/json', isModified: true };
}

/** Checks every stream of a snappy protobuf push; forwards `body` itself unless a stream changed or a field is dropped. */
function enforceProtoPush(body: Buffer, check: StreamLabelCheck, maxDecodedBytes: number): LokiPushOutput {
  const message = uncompressSnappy(body, maxDecodedBytes, 'push body');
  try {
    return checkProtoPush(body, readPushRequest(message), check);
  } finally {
    // The streams' payloads are views of the message: it is given back once the push is re-encoded or refused.
    releaseBuffer(message, body);
  }
}

function checkProtoPush(body: Buffer, request: WirePushRequest, check: StreamLabelCheck): LokiPushOutput {
  let isModified = request.hasDroppedFields;
  const out = request.streams.map((stream, i): WirePushStream | { labels: string; payload: Buffer } => {
    const labels = parseStreamLabels(stream.labels, `stream #${i}`);
    const checked = check(labels, () => describeStream(i, labels));
    if (!stream.hasDroppedFields && isSameLabelSet(labels, checked)) return stream;
    isModified = true;
    return { labels: formatLabels(checked), payload: stream.payload };
  });
  if (!isModified) return { body, contentType: 'application/x-protobuf', isModified: false };
  return { body: compressSnappy(encodePushRequest(out, request.format)), contentType: 'application/x-protobuf', isModified: true };
}

function isSameLabelSet(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (b.get(name) !== value) return false;
  return true;
}

function decodeContentEncoding(input: LokiPushInput, maxOutputLength: number): Buffer {
  const encoding = input.contentEncoding ?? '';
  if (encoding === '' || encoding === 'snappy') return input.body;
  if (encoding === 'gzip' || encoding === 'deflate') return decompressBody(input.body, encoding, maxOutputLength, 'push body');
  throw new UnsupportedInput(`Content-Encoding ${JSON.stringify(encoding)} not supported`, { mediaType: true });
}

/** Go's mime.ParseMediaType, as far as Loki's choice depends on it: lower-cased, parameters dropped. */
function readMediaType(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === '') throw new UnsupportedInput('push needs a Content-Type', { mediaType: true });
  return type;
}

/** Prometheus' `labels.String()` form: sorted by name. */
function formatLabels(labels: ReadonlyMap<string, string>): string {
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return formatSelector(sorted.map(([label, value]) => ({ label, op: '=' as const, value })));
}

/** Names a stream for the refusal: its index and labels (labels are not secrets). */
function describeStream(index: number, labels: ReadonlyMap<string, string>): string {
  const text = [...labels].map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
  return `#${index} {${text.length > 200 ? `${text.slice(0, 200)}…` : text}}`;
}
