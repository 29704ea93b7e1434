import snappy from 'snappyjs';
import { createRemoteWriteSchema } from '../../src/enforce/write/remote-write-schema.js';

const { writeRequest } = createRemoteWriteSchema();

/** One series of a remote-write request: its labels and samples (`[value, timestampMs]`). */
export interface WriteSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly (readonly [number, number])[];
}

/** The headers Prometheus' remote-write client sends (remote write 1.0). */
export const REMOTE_WRITE_HEADERS = Object.freeze({
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
});

/** A snappy-compressed WriteRequest, labels sorted by name as the spec requires. */
export function encodeWriteRequest(series: readonly WriteSeries[]): Buffer {
  const timeseries = series.map((s) => ({
    labels: Object.entries(s.labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
    samples: s.samples.map(([value, timestamp]) => ({ value, timestamp })),
  }));
  return Buffer.from(snappy.compress(writeRequest.encode(writeRequest.fromObject({ timeseries })).finish()));
}

/** The label sets of a snappy-compressed WriteRequest, in order. */
export function decodeWriteRequestLabels(body: Buffer): Record<string, string>[] {
  const message = writeRequest.toObject(writeRequest.decode(snappy.uncompress(body)), { defaults: false }) as {
    timeseries?: { labels?: { name: string; value: string }[] }[];
  };
  return (message.timeseries ?? []).map((s) => Object.fromEntries((s.labels ?? []).map((l) => [l.name, l.value])));
}
