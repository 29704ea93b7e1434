import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { countWriteRequestSeries, enforceWriteRequestV1, type WriteEnforcement } from './remote-write-v1.js';
import { releaseBuffer } from '../../core/release-buffer.js';
import { countRequestV2Series, enforceWriteRequestV2 } from './remote-write-v2.js';
import { compressSnappy, uncompressSnappy } from './snappy-codec.js';
import { compileWritePolicy } from './write-rules.js';

export interface RemoteWriteOptions {
  /** The request's Content-Type (remote write 1.0: `application/x-protobuf`, optionally `;proto=prometheus.WriteRequest`). */
  readonly contentType: string | undefined;
  /** The request's Content-Encoding; absent means snappy, as Prometheus' receiver assumes. */
  readonly contentEncoding: string | undefined;
  /** Add a missing label whose rule is a single literal, instead of refusing the series. */
  readonly injectLabels: boolean;
  /** Refuse bodies that decompress to more than this (the snappy header states the size up front). */
  readonly maxDecompressedBytes: number;
  /** The upstream reads remote write 2.0 (Prometheus ≥ 2.54 with its flag, Mimir ≥ 2.17); else 2.0 is refused (415). */
  readonly acceptsRemoteWrite2: boolean;
}

export interface RemoteWriteResult {
  /** The body to forward: the original bytes when nothing was added, else re-encoded and re-compressed. */
  readonly body: Buffer;
  readonly isModified: boolean;
  readonly seriesCount: number;
}

/**
 * Checks a Prometheus remote write request (1.0 `prometheus.WriteRequest`, or 2.0 `io.prometheus.write.v2.Request`
 * when `acceptsRemoteWrite2`) against a label policy, series by series, and returns the body to forward. Nothing
 * is forwarded unless every series is allowed.
 *
 * - Each rule's label must be present once with an allowed value; else `PolicyViolation` naming the metric
 *   and the label. An empty value counts as missing (Prometheus drops empty labels). A rule's label present
 *   twice is refused (receivers disagree on which one wins).
 * - With `injectLabels`, a missing label whose rule is a single literal is added, labels re-sorted by name
 *   (the spec requires sorted labels), and the body re-encoded and re-compressed. Only touched series are
 *   re-encoded, and then only their labels: every other field is copied byte for byte. In 2.0 the name and
 *   value join the symbol table (an existing symbol is reused).
 * - A policy of several selectors: a series is allowed when its labels satisfy one of them (each of that
 *   selector's labels present once, non-empty, allowed); a policy label present twice is refused as above;
 *   nothing is injected (which selector's labels to add would be a guess). 1.0 and 2.0 alike.
 * - 2.0: every symbol reference (labels, exemplars, metadata) must point into the table, labels in pairs; else
 *   `UnsupportedInput` (400).
 * - Full access: the body is returned untouched without decoding.
 * - Other media types, messages and encodings → `UnsupportedInput` with `mediaType` (415). Malformed snappy or
 *   protobuf, or a label that is not UTF-8 → `UnsupportedInput` (400).
 */
export function enforceRemoteWrite(body: Buffer, policy: LabelPolicy, options: RemoteWriteOptions): RemoteWriteResult {
  if (policy.fullAccess) return { body, isModified: false, seriesCount: 0 };
  const version = readRemoteWriteVersion(options.contentType, options.contentEncoding, options.acceptsRemoteWrite2);
  const message = uncompressSnappy(body, options.maxDecompressedBytes, 'remote write body');
  const compiled = compileWritePolicy(policy.selectors);
  let result: WriteEnforcement;
  try {
    result =
      version === 2
        ? enforceWriteRequestV2(message, compiled, options.injectLabels)
        : enforceWriteRequestV1(message, compiled, options.injectLabels);
  } finally {
    // Nothing reads the decoded message after the walk (a refusal's text is made before it is thrown).
    releaseBuffer(message, body);
  }
  if (result.message === undefined) return { body, isModified: false, seriesCount: result.seriesCount };
  const compressed = compressSnappy(result.message);
  releaseBuffer(result.message, compressed);
  return { body: compressed, isModified: true, seriesCount: result.seriesCount };
}

/**
 * Remote write 1.0 spec: Content-Type `application/x-protobuf`, Content-Encoding `snappy`; no Content-Type is read
 * as 1.0, as Prometheus' receiver does. Remote write 2.0 announces itself with `proto=io.prometheus.write.v2.Request`
 * (same encoding); an upstream that does not read it gets it refused here rather than forwarded.
 */
function readRemoteWriteVersion(contentType: string | undefined, contentEncoding: string | undefined, acceptsV2: boolean): 1 | 2 {
  let version: 1 | 2 = 1;
  if (contentType !== undefined && contentType.trim() !== '') {
    const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
    if (mediaType !== 'application/x-protobuf') {
      throw new UnsupportedInput(`unsupported remote write content type: ${mediaType}`, { mediaType: true });
    }
    const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
    if (proto === 'io.prometheus.write.v2.request' && acceptsV2) version = 2;
    else if (proto !== undefined && proto !== 'prometheus.writerequest') {
      throw new UnsupportedInput(`unsupported remote write message: ${proto}`, { mediaType: true });
    }
  }
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'snappy') {
    throw new UnsupportedInput(`unsupported remote write encoding: ${encoding}`, { mediaType: true });
  }
  return version;
}

/**
 * The number of series in a remote-write body as it will be sent (for `max_series`): the snappy block read once
 * and only its top-level fields walked, so counting costs less than the check.
 * @throws UnsupportedInput when the body does not decode (the enforcer would have refused it too).
 */
export function countRemoteWriteSeries(body: Buffer, contentType: string | undefined, maxDecompressedBytes: number): number {
  const message = uncompressSnappy(body, maxDecompressedBytes, 'remote write body');
  try {
    return isRemoteWrite2(contentType) ? countRequestV2Series(message) : countWriteRequestSeries(message);
  } finally {
    releaseBuffer(message, body);
  }
}

function isRemoteWrite2(contentType: string | undefined): boolean {
  return contentType !== undefined && /;\s*proto=io\.prometheus\.write\.v2\.request\s*(?:;|$)/i.test(contentType);
}
