import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { countWriteRequestSeries, enforceWriteRequestV1 } from './remote-write-v1.js';
import { compressSnappyBlock, uncompressSnappyBlock } from './snappy-block.js';
import { compileWriteRules } from './write-rules.js';

export interface RemoteWriteOptions {
  /** The request's Content-Type (remote write 1.0: `application/x-protobuf`, optionally `;proto=prometheus.WriteRequest`). */
  readonly contentType: string | undefined;
  /** The request's Content-Encoding; absent means snappy, as Prometheus' receiver assumes. */
  readonly contentEncoding: string | undefined;
  /** Add a missing label whose rule is a single literal, instead of refusing the series. */
  readonly injectLabels: boolean;
  /** Refuse bodies that decompress to more than this (the snappy header states the size up front). */
  readonly maxDecompressedBytes: number;
}

export interface RemoteWriteResult {
  /** The body to forward: the original bytes when nothing was added, else re-encoded and re-compressed. */
  readonly body: Buffer;
  readonly isModified: boolean;
  readonly seriesCount: number;
}

/**
 * Checks a Prometheus remote write 1.0 request against a label policy, series by series, and returns the body
 * to forward. Nothing is forwarded unless every series is allowed.
 *
 * - Each rule's label must be present once with an allowed value; else `PolicyViolation` naming the metric
 *   and the label. An empty value counts as missing (Prometheus drops empty labels). A rule's label present
 *   twice is refused (receivers disagree on which one wins).
 * - With `injectLabels`, a missing label whose rule is a single literal is added, labels re-sorted by name
 *   (the spec requires sorted labels), and the body re-encoded and re-compressed. Only touched series are
 *   re-encoded, and then only their labels: every other field is copied byte for byte.
 * - Full access: the body is returned untouched without decoding.
 * - Remote write 2.0 (`proto=io.prometheus.write.v2.Request`), other media types and encodings →
 *   `UnsupportedInput` with `mediaType` (415). Malformed snappy or protobuf → `UnsupportedInput` (400).
 */
export function enforceRemoteWrite(body: Buffer, policy: LabelPolicy, options: RemoteWriteOptions): RemoteWriteResult {
  if (policy.fullAccess) return { body, isModified: false, seriesCount: 0 };
  assertRemoteWriteV1(options.contentType, options.contentEncoding);
  const message = uncompressSnappyBlock(body, options.maxDecompressedBytes, 'remote write body');
  const result = enforceWriteRequestV1(message, compileWriteRules(policy.rules), options.injectLabels);
  if (result.message === undefined) return { body, isModified: false, seriesCount: result.seriesCount };
  return { body: compressSnappyBlock(result.message), isModified: true, seriesCount: result.seriesCount };
}

/**
 * Remote write 1.0 spec: Content-Type `application/x-protobuf`, Content-Encoding `snappy`. Remote write 2.0
 * announces itself with `proto=io.prometheus.write.v2.Request`; its series reference a symbol table, which this
 * enforcer does not read, so it is refused rather than forwarded unchecked.
 */
function assertRemoteWriteV1(contentType: string | undefined, contentEncoding: string | undefined): void {
  if (contentType !== undefined && contentType.trim() !== '') {
    const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
    if (mediaType !== 'application/x-protobuf') {
      throw new UnsupportedInput(`unsupported remote write content type: ${mediaType}`, { mediaType: true });
    }
    const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
    if (proto !== undefined && proto !== 'prometheus.writerequest') {
      throw new UnsupportedInput(`unsupported remote write message: ${proto}`, { mediaType: true });
    }
  }
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'snappy') {
    throw new UnsupportedInput(`unsupported remote write encoding: ${encoding}`, { mediaType: true });
  }
}

/**
 * The number of series in a remote-write body as it will be sent (for `max_series`): the snappy block read once
 * and only its top-level fields walked, so counting costs less than the check.
 * @throws UnsupportedInput when the body does not decode (the enforcer would have refused it too).
 */
export function countRemoteWriteSeries(body: Buffer, maxDecompressedBytes: number): number {
  return countWriteRequestSeries(uncompressSnappyBlock(body, maxDecompressedBytes, 'remote write body'));
}
