import protobuf from 'protobufjs';

/**
 * The Prometheus remote write 1.0 message `prometheus.WriteRequest`, built by reflection (no generated code).
 * Field numbers from prometheus/prompb `remote.proto` and `types.proto`; field 2 of WriteRequest is reserved
 * (formerly `source`, still used by Mimir). The enforcer itself walks the wire format (remote-write.ts) so it
 * never drops a field; this schema is for building and reading requests in tests and tools.
 */
export function createRemoteWriteSchema(): { writeRequest: protobuf.Type } {
  const { Type, Field, Enum, OneOf, Root } = protobuf;
  const label = new Type('Label').add(new Field('name', 1, 'string')).add(new Field('value', 2, 'string'));
  const sample = new Type('Sample').add(new Field('value', 1, 'double')).add(new Field('timestamp', 2, 'int64'));
  const exemplar = new Type('Exemplar')
    .add(new Field('labels', 1, 'Label', 'repeated'))
    .add(new Field('value', 2, 'double'))
    .add(new Field('timestamp', 3, 'int64'));
  const bucketSpan = new Type('BucketSpan').add(new Field('offset', 1, 'sint32')).add(new Field('length', 2, 'uint32'));
  const histogram = new Type('Histogram')
    .add(new Field('countInt', 1, 'uint64'))
    .add(new Field('countFloat', 2, 'double'))
    .add(new Field('sum', 3, 'double'))
    .add(new Field('schema', 4, 'sint32'))
    .add(new Field('zeroThreshold', 5, 'double'))
    .add(new Field('zeroCountInt', 6, 'uint64'))
    .add(new Field('zeroCountFloat', 7, 'double'))
    .add(new Field('negativeSpans', 8, 'BucketSpan', 'repeated'))
    .add(new Field('negativeDeltas', 9, 'sint64', 'repeated'))
    .add(new Field('negativeCounts', 10, 'double', 'repeated'))
    .add(new Field('positiveSpans', 11, 'BucketSpan', 'repeated'))
    .add(new Field('positiveDeltas', 12, 'sint64', 'repeated'))
    .add(new Field('positiveCounts', 13, 'double', 'repeated'))
    .add(new Field('resetHint', 14, 'int32'))
    .add(new Field('timestamp', 15, 'int64'))
    .add(new Field('customValues', 16, 'double', 'repeated'));
  histogram.add(new OneOf('count', ['countInt', 'countFloat']));
  histogram.add(new OneOf('zeroCount', ['zeroCountInt', 'zeroCountFloat']));
  const timeSeries = new Type('TimeSeries')
    .add(new Field('labels', 1, 'Label', 'repeated'))
    .add(new Field('samples', 2, 'Sample', 'repeated'))
    .add(new Field('exemplars', 3, 'Exemplar', 'repeated'))
    .add(new Field('histograms', 4, 'Histogram', 'repeated'));
  const metricType = new Enum('MetricType', {
    UNKNOWN: 0,
    COUNTER: 1,
    GAUGE: 2,
    HISTOGRAM: 3,
    GAUGEHISTOGRAM: 4,
    SUMMARY: 5,
    INFO: 6,
    STATESET: 7,
  });
  const metadata = new Type('MetricMetadata')
    .add(metricType)
    .add(new Field('type', 1, 'MetricType'))
    .add(new Field('metricFamilyName', 2, 'string'))
    .add(new Field('help', 4, 'string'))
    .add(new Field('unit', 5, 'string'));
  const writeRequest = new Type('WriteRequest')
    .add(new Field('timeseries', 1, 'TimeSeries', 'repeated'))
    .add(new Field('metadata', 3, 'MetricMetadata', 'repeated'));
  const root = new Root();
  root
    .define('prometheus')
    .add(label)
    .add(sample)
    .add(exemplar)
    .add(bucketSpan)
    .add(histogram)
    .add(timeSeries)
    .add(metadata)
    .add(writeRequest);
  root.resolveAll();
  return { writeRequest };
}
