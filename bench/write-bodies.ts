import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { encodeProtoPush } from '../src/enforce/write/loki-push-proto.js';
import { createRemoteWriteSchema } from '../src/enforce/write/remote-write-schema.js';
import { compressSnappyBlock } from '../src/enforce/write/snappy-block.js';
import { encodeRequestV2Message } from '../test/servers/remote-write-v2-body.js';

/**
 * Remote-write bodies as a Kubernetes Prometheus sends them, generated once per run: `series` series of 8 labels
 * (`__name__`, cluster, container, instance, job, namespace, node, pod: high-cardinality pod and instance
 * values), one sample each, labels sorted by name. Every series is in namespace `team-a`, the bench's
 * one-namespace policy; `withoutNamespace` drops that label, for inject mode.
 */
export interface WriteSeriesSpec {
  readonly series: number;
  readonly withoutNamespace?: boolean;
}

export const WRITE_NAMESPACE = 'team-a';
const METRICS = [
  'container_cpu_usage_seconds_total',
  'container_memory_working_set_bytes',
  'http_requests_total',
  'kube_pod_status_phase',
  'node_network_receive_bytes_total',
];

/** The label sets, sorted by name. */
export function writeLabelSets(spec: WriteSeriesSpec): Record<string, string>[] {
  return Array.from({ length: spec.series }, (_, i) => {
    const hash = ((i * 2654435761) >>> 0).toString(36).padStart(7, '0');
    const labels: Record<string, string> = {
      __name__: METRICS[i % METRICS.length] as string,
      cluster: 'eu-west-1-prod',
      container: `app-${i % 13}`,
      instance: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100`,
      job: 'kubernetes-pods',
      namespace: WRITE_NAMESPACE,
      node: `ip-10-0-${i % 31}-${i % 97}.eu-west-1.compute.internal`,
      pod: `app-${i % 13}-7d9f8b6c4-${hash.slice(0, 5)}`,
    };
    if (spec.withoutNamespace === true) delete labels['namespace'];
    return labels;
  });
}

/** The decompressed `prometheus.WriteRequest`. */
export function writeRequestMessage(spec: WriteSeriesSpec): Buffer {
  const { writeRequest } = createRemoteWriteSchema();
  const timeseries = writeLabelSets(spec).map((labels, i) => ({
    labels: Object.entries(labels).map(([name, value]) => ({ name, value })),
    samples: [{ value: i * 0.5, timestamp: 1700000000000 + i }],
  }));
  return Buffer.from(writeRequest.encode(writeRequest.fromObject({ timeseries })).finish());
}

/** The snappy-compressed body, as sent. */
export function remoteWriteBody(spec: WriteSeriesSpec): Buffer {
  return compressSnappyBlock(writeRequestMessage(spec));
}

/** The same series as a remote write 2.0 Request (decompressed), strings interned in `symbols`. */
export function writeRequestV2Message(spec: WriteSeriesSpec): Buffer {
  return encodeRequestV2Message(writeLabelSets(spec).map((labels, i) => ({ labels, samples: [[i * 0.5, 1700000000000 + i]] })));
}

export function remoteWriteV2Body(spec: WriteSeriesSpec): Buffer {
  return compressSnappyBlock(writeRequestV2Message(spec));
}

/**
 * A Loki push as Promtail or Alloy batches it: `streams` streams (namespace, app, pod, container, stream labels)
 * of `lines` logfmt lines each, as snappy protobuf (`logproto.PushRequest`) and as JSON.
 */
export function lokiPushBodies(streams: number, lines: number): { readonly proto: Buffer; readonly json: Buffer } {
  const labelSets = Array.from({ length: streams }, (_, i) => ({
    app: `app-${i % 13}`,
    container: 'main',
    namespace: WRITE_NAMESPACE,
    pod: `app-${i % 13}-7d9f8b6c4-${(i * 7919).toString(36)}`,
    stream: i % 2 === 0 ? 'stdout' : 'stderr',
  }));
  const line = (i: number): string =>
    `level=info ts=2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z caller=handler.go:${i} msg="request served" path=/api/v1/items/${i} status=200 duration_ms=${i % 97}`;
  const text = (l: Record<string, string>): string =>
    `{${Object.entries(l)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ')}}`;
  const seconds = 1700000000;
  const proto = encodeProtoPush({
    streams: labelSets.map((l) => ({
      labels: text(l),
      entries: Array.from({ length: lines }, (_, i) => ({ timestamp: { seconds: String(seconds), nanos: i }, line: Buffer.from(line(i)) })),
    })),
    format: '',
  });
  const json = Buffer.from(
    JSON.stringify({
      streams: labelSets.map((stream) => ({
        stream,
        values: Array.from({ length: lines }, (_, i) => [`${seconds}00000000${i}`, line(i)]),
      })),
    }),
  );
  return { proto, json };
}

const OTLP = protobuf
  .parse(`
  syntax = "proto3";
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
  message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
  message InstrumentationScope { string name = 1; string version = 2; }
  message Span {
    bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
    fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  }
  message Resource { repeated KeyValue attributes = 1; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue { oneof value { string string_value = 1; int64 int_value = 3; } }
`)
  .root.lookupType('ExportTraceServiceRequest');

/** An OTLP trace export as the OpenTelemetry Collector batches it: `resources` services × `spans` spans, gzip. */
export function otlpTracesBody(resources: number, spans: number): { readonly gzip: Buffer; readonly decoded: Buffer } {
  const attribute = (key: string, value: string): Record<string, unknown> => ({ key, value: { stringValue: value } });
  const message = OTLP.fromObject({
    resourceSpans: Array.from({ length: resources }, (_, r) => ({
      resource: {
        attributes: [
          attribute('service.name', `svc-${r}`),
          attribute('namespace', WRITE_NAMESPACE),
          attribute('k8s.pod.name', `svc-${r}-5f6d7c8b9-${r.toString(36)}`),
          attribute('host.name', `ip-10-0-${r}-1`),
        ],
      },
      scopeSpans: [
        {
          scope: { name: 'io.opentelemetry.http', version: '1.30.0' },
          spans: Array.from({ length: spans }, (_, s) => ({
            traceId: Buffer.alloc(16, r + 1),
            spanId: Buffer.alloc(8, s + 1),
            parentSpanId: Buffer.alloc(8, s),
            name: `GET /api/v1/items/{id}`,
            kind: 2,
            startTimeUnixNano: '1700000000000000000',
            endTimeUnixNano: '1700000000005000000',
            attributes: [
              attribute('http.method', 'GET'),
              attribute('http.route', '/api/v1/items/{id}'),
              { key: 'http.status_code', value: { intValue: 200 } },
            ],
          })),
        },
      ],
    })),
  });
  const decoded = Buffer.from(OTLP.encode(message).finish());
  return { gzip: gzipSync(decoded), decoded };
}
