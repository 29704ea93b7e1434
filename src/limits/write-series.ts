import { decodeJsonPush } from '../enforce/write/loki-push-json.js';
import { scanJsonPush } from '../enforce/write/loki-push-json-scan.js';
import { decompressBody } from '../enforce/write/decompress-body.js';
import { countRemoteWriteSeries } from '../enforce/write/remote-write.js';
import { UnsupportedInput } from '../enforce/errors.js';
import { countLengthDelimitedFields, WireReader } from '../enforce/write/protobuf-wire-reader.js';
import { uncompressSnappy } from '../enforce/write/snappy-codec.js';
import type { ProxyRequest, WriteFormat } from '../routing/endpoint.js';

/** Bound on a decoded body while counting (the body itself is already bounded by `proxy.max_body_bytes`). */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * The number of series (remote write: `WriteRequest.timeseries`, field 1) or streams (Loki push: JSON
 * `streams`, or `PushRequest.streams`, field 1) in a write as it will be sent, by the body format its endpoint
 * row declares; `undefined` for OTLP (metrics and traces: resources, not series, are what it holds; the body
 * size guard still applies).
 * Counted at the wire level on the outgoing body (snappy block format for protobuf; gzip/deflate for Loki JSON),
 * so it is the same whether the enforcer rewrote the body or passed it through.
 * @throws UnsupportedInput when the body does not decode (the enforcer would have refused it too).
 */
export function countWriteSeries(format: WriteFormat, request: ProxyRequest): number | undefined {
  const body = request.body;
  if (body === undefined) return undefined;
  switch (format) {
    case 'prometheus-remote-write':
      return countRemoteWriteSeries(body, request.headers['content-type'], MAX_DECODED_BYTES);
    case 'loki-push-request': {
      const encoding = (request.headers['content-encoding'] ?? '').trim().toLowerCase();
      const decoded = encoding === 'gzip' || encoding === 'deflate' ? decompressBody(body, encoding, MAX_DECODED_BYTES, 'push body') : body;
      const type = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
      if (type === 'application/json') return (scanJsonPush(decoded) ?? decodeJsonPush(decoded)).length;
      return countField1(uncompressSnappy(decoded, MAX_DECODED_BYTES, 'push body'), 'push');
    }
    case 'otlp-metrics':
    case 'otlp-traces':
      return undefined;
  }
}

/**
 * `PushRequest.streams` (field 1), as strictly as Loki's decoder reads them: gogo-protobuf refuses field 1 of any
 * other wire type ("wrong wireType"), so such a body is refused here (400), not forwarded with it left uncounted.
 */
function countField1(message: Buffer, what: string): number {
  return countLengthDelimitedFields(
    new WireReader(message, what),
    1,
    () => new UnsupportedInput(`malformed protobuf: ${what}: streams field of wrong type`),
  );
}
