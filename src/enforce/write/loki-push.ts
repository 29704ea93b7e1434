/**
 * Loki push validation: every stream of a push must carry the policy's labels (or get them injected).
 *
 * The body is decoded the way Loki's distributor decodes it (pkg/loghttp/push/push.go): `Content-Encoding`
 * "", "snappy" (a no-op marker), "gzip" or "deflate" (raw DEFLATE, as Go's compress/flate); then
 * `application/json` is JSON and every other media type is snappy-compressed protobuf. The outgoing body is
 * always re-encoded from what was checked — plain JSON or snappy protobuf, no content encoding — so no
 * parser difference between this gateway and Loki can smuggle a stream past the check.
 */
import { gunzipSync, inflateRawSync } from 'node:zlib';
import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { findSelectors, parseLogQuery } from '../logql/parse.js';
import { formatSelector, readSelectorMatchers } from '../logql/selector.js';
import { decodeJsonPush, encodeJsonPush } from './loki-push-json.js';
import { compileStreamLabelCheck, type PushLabelMode } from './loki-push-labels.js';
import { decodeProtoPush, encodeProtoPush } from './loki-push-proto.js';

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

/** The body to forward; send it with this content type and without `content-encoding`. */
export interface LokiPushOutput {
  readonly body: Buffer;
  readonly contentType: 'application/json' | 'application/x-protobuf';
}

/**
 * Validates (or completes) the labels of every stream of a Loki push and returns the body to forward.
 * @throws PolicyViolation naming the first offending stream (nothing may be forwarded).
 * @throws UnsupportedInput for a missing content type, an unknown content encoding (`mediaType: true`), a
 *   body that does not decode, or stream labels that are not a plain `{name="value", …}` label set.
 */
export function enforceLokiPush(input: LokiPushInput, policy: LabelPolicy, options: LokiPushOptions): LokiPushOutput {
  const body = decodeContentEncoding(input, options.maxDecodedBytes);
  const check = compileStreamLabelCheck(policy, options.mode);
  if (readMediaType(input.contentType) === 'application/json') {
    const streams = decodeJsonPush(body);
    for (const [i, stream] of streams.entries()) stream.labels = check(stream.labels, describeStream(i, stream.labels));
    return { body: encodeJsonPush(streams), contentType: 'application/json' };
  }
  const request = decodeProtoPush(body, options.maxDecodedBytes);
  for (const [i, stream] of request.streams.entries()) {
    const labels = parseStreamLabels(stream.labels, i);
    stream.labels = formatLabels(check(labels, describeStream(i, labels)));
  }
  return { body: encodeProtoPush(request), contentType: 'application/x-protobuf' };
}

function decodeContentEncoding(input: LokiPushInput, maxOutputLength: number): Buffer {
  const encoding = input.contentEncoding ?? '';
  try {
    if (encoding === '' || encoding === 'snappy') return input.body;
    if (encoding === 'gzip') return gunzipSync(input.body, { maxOutputLength });
    if (encoding === 'deflate') return inflateRawSync(input.body, { maxOutputLength });
  } catch (error) {
    throw new UnsupportedInput(`push body does not decode as ${encoding}: ${(error as Error).message}`);
  }
  throw new UnsupportedInput(`Content-Encoding ${JSON.stringify(encoding)} not supported`, { mediaType: true });
}

/** Go's mime.ParseMediaType, as far as Loki's choice depends on it: lower-cased, parameters dropped. */
function readMediaType(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === '') throw new UnsupportedInput('push needs a Content-Type', { mediaType: true });
  return type;
}

/** A protobuf stream's labels: a selector of equality matchers only, each label once (Loki's ParseLabels). */
function parseStreamLabels(text: string, index: number): Map<string, string> {
  const where = `stream #${index}`;
  let parsed;
  try {
    parsed = parseLogQuery(text);
  } catch (error) {
    throw new UnsupportedInput(`${where}: labels do not parse: ${(error as Error).message}`);
  }
  const expr = parsed.tree.topNode.getChild('Expr')?.getChild('LogExpr');
  const [selector, ...rest] = findSelectors(parsed);
  if (!expr || !selector || rest.length > 0 || expr.firstChild?.name !== 'Selector' || expr.firstChild.nextSibling) {
    throw new UnsupportedInput(`${where}: labels must be a label set like {name="value"}`);
  }
  const labels = new Map<string, string>();
  for (const m of readSelectorMatchers(parsed, selector)) {
    if (m.op !== '=') throw new UnsupportedInput(`${where}: labels must use "=" only`);
    if (labels.has(m.label)) throw new UnsupportedInput(`${where}: duplicate label "${m.label}"`);
    labels.set(m.label, m.value);
  }
  return labels;
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
