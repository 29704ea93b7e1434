import type { DecisionRecord } from './record.js';

/**
 * Decision records as OTLP logs, in the protobuf JSON mapping OTLP/HTTP JSON uses (opentelemetry-proto
 * `collector/logs/v1/logs_service.proto`, `logs/v1/logs.proto`; the OTLP specification's "JSON Protobuf
 * Encoding"): an `ExportLogsServiceRequest` is `resourceLogs[] → scopeLogs[] → logRecords[]`; field names are
 * lowerCamelCase, 64-bit integers (`timeUnixNano`) are decimal strings, `traceId` is hex (not base64), enums
 * are their numbers.
 *
 * What lands where is chosen for Loki's OTLP ingestion: the resource's `service.name` becomes the stream's
 * `service_name` label; the body becomes the log line (the record's JSON, the same as the file sink's line
 * without the chain, so `| json` reads every field); the log record's attributes become structured metadata
 * (`decision`, `code`, `status`, `tenant`, `endpoint`, `upstream`, `authenticator`, `subject`, `request_id`),
 * filterable without parsing the line. A record holds no credential (record.ts), so neither does any of this.
 */

/** One LogRecord's JSON text, encoded when the request ends (the batch joins these strings). */
export function encodeLogRecord(record: DecisionRecord): string {
  const nanos = `${Date.parse(record.time)}000000`;
  const [severityNumber, severityText] = SEVERITY[record.decision];
  let attributes = `${stringAttr('decision', record.decision)},${intAttr('status', record.status)}`;
  if (record.code !== undefined) attributes += `,${stringAttr('code', record.code)}`;
  if (record.tenants !== undefined) attributes += `,${stringAttr('tenant', record.tenants.join('|'))}`;
  if (record.endpoint !== undefined) attributes += `,${stringAttr('endpoint', record.endpoint)}`;
  if (record.upstream !== undefined) attributes += `,${stringAttr('upstream', record.upstream)}`;
  const authenticator = record.identity?.authenticator ?? record.decidedBy;
  if (authenticator !== undefined) attributes += `,${stringAttr('authenticator', authenticator)}`;
  if (record.identity !== undefined) attributes += `,${stringAttr('subject', record.identity.subject)}`;
  attributes += `,${stringAttr('request_id', record.requestId)}`;
  const trace = TRACE_ID.test(record.traceId) && record.traceId !== ZERO_TRACE ? `,"traceId":"${record.traceId}"` : '';
  return (
    `{"timeUnixNano":"${nanos}","observedTimeUnixNano":"${nanos}","severityNumber":${severityNumber},"severityText":"${severityText}",` +
    `"body":{"stringValue":${JSON.stringify(JSON.stringify(record))}},"attributes":[${attributes}]${trace}}`
  );
}

/** The resource and scope every batch carries, encoded once per sink. */
export function encodeResource(serviceName: string, serviceVersion: string | undefined): string {
  let attributes = stringAttr('service.name', serviceName);
  if (serviceVersion !== undefined) attributes += `,${stringAttr('service.version', serviceVersion)}`;
  return `{"attributes":[${attributes}]}`;
}

/** An `ExportLogsServiceRequest` of `logRecords` (each from `encodeLogRecord`) under `resource`. */
export function encodeExportRequest(resource: string, logRecords: readonly string[]): string {
  return `{"resourceLogs":[{"resource":${resource},"scopeLogs":[{"scope":{"name":"scopegate.decision_log"},"logRecords":[${logRecords.join(',')}]}]}]}`;
}

// SeverityNumber (logs.proto): INFO = 9, WARN = 13, ERROR = 17.
const SEVERITY: Readonly<Record<DecisionRecord['decision'], readonly [number, string]>> = {
  allow: [9, 'INFO'],
  deny: [13, 'WARN'],
  error: [17, 'ERROR'],
};
const TRACE_ID = /^[0-9a-f]{32}$/;
const ZERO_TRACE = '0'.repeat(32);

function stringAttr(key: string, value: string): string {
  return `{"key":"${key}","value":{"stringValue":${JSON.stringify(value)}}}`;
}

/** AnyValue's int_value is an int64: a decimal string in the JSON mapping. */
function intAttr(key: string, value: number): string {
  return `{"key":"${key}","value":{"intValue":"${value}"}}`;
}
