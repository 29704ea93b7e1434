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
const METRICS = ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'http_requests_total', 'kube_pod_status_phase', 'node_network_receive_bytes_total'];

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
