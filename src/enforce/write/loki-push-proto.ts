/**
 * Loki's protobuf push body: block-format snappy around `logproto.PushRequest` (grafana/loki
 * pkg/push/push.proto). Field numbers follow that file; message types are built by reflection.
 *
 * The gateway itself reads pushes at the wire level (loki-push-wire.ts); this full codec, independent of
 * it, builds and reads push bodies in tests and the bench (the reference the wire reader is checked against).
 *
 * Decoded and re-encoded, never forwarded as received: fields this schema leaves out are dropped on the way
 * (`StreamAdapter.hash`, which the distributor recomputes from the labels, and `EntryAdapter.parsed`, which
 * push.proto says clients must not send), so Loki reads exactly the streams that were checked. Lines and
 * structured metadata are `bytes` here (same wire type as `string`) so their bytes pass through unchanged.
 */
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { UnsupportedInput } from '../errors.js';
import { STRICT_UTF8 } from '../utf8.js';

const PUSH_SCHEMA = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
      },
    },
    logproto: {
      nested: {
        PushRequest: {
          fields: {
            streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 },
            format: { type: 'string', id: 2 },
          },
        },
        StreamAdapter: {
          fields: {
            labels: { type: 'bytes', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'bytes', id: 1 }, value: { type: 'bytes', id: 2 } } },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'google.protobuf.Timestamp', id: 1 },
            line: { type: 'bytes', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
          },
        },
      },
    },
  },
};

// A constant schema, resolved once; never mutated after this line.
const PUSH_REQUEST = protobuf.Root.fromJSON(PUSH_SCHEMA).lookupType('logproto.PushRequest');

/** One stream of a decoded push; `entries` are opaque to enforcement and re-encoded as decoded. */
export interface ProtoPushStream {
  labels: string;
  readonly entries: readonly unknown[];
}

export interface ProtoPushRequest {
  readonly streams: ProtoPushStream[];
  readonly format: string;
}

/** Snappy-decodes and parses a push body. Labels must be valid UTF-8 (Loki's lexer refuses anything else). */
export function decodeProtoPush(body: Uint8Array, maxDecodedBytes: number): ProtoPushRequest {
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(body, maxDecodedBytes);
  } catch (error) {
    throw new UnsupportedInput(`push body is not valid snappy (block format): ${(error as Error).message}`);
  }
  let message: protobuf.Message;
  try {
    message = PUSH_REQUEST.decode(raw);
  } catch (error) {
    throw new UnsupportedInput(`push body is not a logproto.PushRequest: ${(error as Error).message}`);
  }
  const plain = PUSH_REQUEST.toObject(message, { longs: String, arrays: true, defaults: true });
  const streams = (plain['streams'] as { labels: Uint8Array; entries: unknown[] }[]).map((s, i) => ({
    labels: decodeLabelsText(s.labels, i),
    entries: s.entries,
  }));
  return { streams, format: String(plain['format'] ?? '') };
}

function decodeLabelsText(bytes: Uint8Array, index: number): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new UnsupportedInput(`stream #${index}: labels are not valid UTF-8`);
  }
}

/** Encodes and snappy-compresses a push request. */
export function encodeProtoPush(request: ProtoPushRequest): Buffer {
  const message = PUSH_REQUEST.fromObject({
    streams: request.streams.map((s) => ({ labels: Buffer.from(s.labels, 'utf8'), entries: s.entries })),
    ...(request.format !== '' ? { format: request.format } : {}),
  });
  return Buffer.from(snappy.compress(PUSH_REQUEST.encode(message).finish()));
}
