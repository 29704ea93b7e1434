import protobuf from 'protobufjs';
import snappy from 'snappyjs';

/**
 * Remote write 2.0 bodies built by an encoder independent of the gateway's reader: protobufjs from the published
 * `io.prometheus.write.v2` proto (prometheus/prompb io/prometheus/write/v2/types.proto; histograms left out, the
 * gateway carries them as bytes). Label strings are interned in `symbols`, `symbols[0]` is "" as the spec requires.
 */
export const REMOTE_WRITE_V2_PROTO = `
syntax = "proto3";
package io.prometheus.write.v2;
message Request { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
message TimeSeries {
  repeated uint32 labels_refs = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 4;
  Metadata metadata = 5;
  int64 created_timestamp = 6;
}
message Exemplar { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
message Sample { double value = 1; int64 timestamp = 2; }
message Metadata {
  enum MetricType { METRIC_TYPE_UNSPECIFIED = 0; METRIC_TYPE_COUNTER = 1; METRIC_TYPE_GAUGE = 2; }
  MetricType type = 1;
  uint32 help_ref = 3;
  uint32 unit_ref = 4;
}
`;
export const RequestV2 = protobuf.parse(REMOTE_WRITE_V2_PROTO).root.lookupType('io.prometheus.write.v2.Request');

export const REMOTE_WRITE_V2_HEADERS = Object.freeze({
  'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '2.0.0',
});

export interface V2Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples?: readonly (readonly [number, number])[];
  readonly exemplar?: Readonly<Record<string, string>>;
  readonly help?: string;
}

/** The decompressed Request: labels sorted by name, strings interned in order of first use. */
export function encodeRequestV2Message(series: readonly V2Series[]): Buffer {
  const symbols = [''];
  const ref = (s: string): number => {
    const known = symbols.indexOf(s);
    if (known >= 0) return known;
    symbols.push(s);
    return symbols.length - 1;
  };
  const refs = (labels: Readonly<Record<string, string>>): number[] =>
    Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([n, v]) => [ref(n), ref(v)]);
  const timeseries = series.map((s) => ({
    labelsRefs: refs(s.labels),
    samples: (s.samples ?? [[1, 1700000000000]]).map(([value, timestamp]) => ({ value, timestamp })),
    ...(s.exemplar === undefined ? {} : { exemplars: [{ labelsRefs: refs(s.exemplar), value: 1, timestamp: 1700000000000 }] }),
    metadata: { type: 2, helpRef: s.help === undefined ? 0 : ref(s.help), unitRef: 0 },
  }));
  return Buffer.from(RequestV2.encode(RequestV2.fromObject({ symbols, timeseries })).finish());
}

export function encodeRequestV2(series: readonly V2Series[]): Buffer {
  return Buffer.from(snappy.compress(encodeRequestV2Message(series)));
}

/** The label sets of a snappy-compressed Request, resolved through its symbols; throws on a bad reference. */
export function decodeRequestV2Labels(body: Buffer): Record<string, string>[] {
  const message = RequestV2.toObject(RequestV2.decode(snappy.uncompress(body)), { defaults: true, arrays: true }) as {
    symbols: string[];
    timeseries: { labelsRefs: number[] }[];
  };
  const symbol = (i: number): string => {
    const s = message.symbols[i];
    if (s === undefined) throw new Error(`symbol reference ${i} out of range`);
    return s;
  };
  return message.timeseries.map((s) => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < s.labelsRefs.length; i += 2) labels[symbol(s.labelsRefs[i] as number)] = symbol(s.labelsRefs[i + 1] as number);
    return labels;
  });
}

/** The label names of each series in wire order (to check the sort). */
export function decodeRequestV2LabelNames(body: Buffer): string[][] {
  const message = RequestV2.toObject(RequestV2.decode(snappy.uncompress(body)), { defaults: true, arrays: true }) as {
    symbols: string[];
    timeseries: { labelsRefs: number[] }[];
  };
  return message.timeseries.map((s) => s.labelsRefs.filter((_, i) => i % 2 === 0).map((r) => message.symbols[r] as string));
}
