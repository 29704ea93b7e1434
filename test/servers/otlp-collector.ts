import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenTelemetry collector's OTLP/HTTP logs receiver, as a test needs it: on 127.0.0.1:0, it parses each
 * export strictly against `ExportLogsServiceRequest` in the protobuf JSON mapping (opentelemetry-proto
 * `collector/logs/v1/logs_service.proto`, `logs/v1/logs.proto`, `common/v1/common.proto`): unknown fields, wrong
 * types, a number where an int64 string belongs, a non-hex trace id are refused with 400 and recorded as such.
 * It answers from a script (`answerNext`), then 200 `{}`.
 */

/** One log record as it arrived, with its resource's attributes. */
export interface CollectedLog {
  readonly resource: Readonly<Record<string, string>>;
  readonly scope: string;
  readonly timeUnixNano: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly traceId?: string;
}

export interface CollectorRequest {
  readonly headers: IncomingHttpHeaders;
  /** The bytes as received. */
  readonly raw: Buffer;
  /** Why it was refused (400); undefined when it parsed. */
  readonly invalid?: string;
  /** What it was answered. */
  readonly status: number;
  readonly logs: readonly CollectedLog[];
  readonly at: number;
}

export interface CollectorAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface OtlpCollector {
  /** The logs URL: `http://127.0.0.1:PORT/v1/logs`. */
  readonly url: string;
  readonly requests: readonly CollectorRequest[];
  /** The records of the exports it accepted (2xx), in arrival order. */
  accepted(): CollectedLog[];
  /** Answers the next exports with these, in order (each valid one is still parsed and recorded). */
  answerNext(...answers: CollectorAnswer[]): void;
  /** Resolves once it has accepted `count` records. */
  untilAccepted(count: number, timeoutMs?: number): Promise<CollectedLog[]>;
  stop(): Promise<void>;
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const requests: CollectorRequest[] = [];
  const script: CollectorAnswer[] = [];
  let onRequest = () => {};
  const accepted = () => requests.filter((r) => r.status >= 200 && r.status < 300).flatMap((r) => r.logs);

  const server = createServer((req, res) => {
    readBody(req).then(
      (raw) => {
        let logs: CollectedLog[] = [];
        let invalid: string | undefined;
        try {
          if (req.method !== 'POST' || req.url !== '/v1/logs') throw new Error(`${req.method} ${req.url}: not the logs receiver`);
          if (req.headers['content-type'] !== 'application/json') throw new Error(`content-type ${req.headers['content-type']}`);
          logs = parseExportLogsServiceRequest(JSON.parse(raw.toString('utf8')));
        } catch (error) {
          invalid = (error as Error).message;
        }
        const answer: CollectorAnswer =
          invalid !== undefined
            ? { status: 400, body: JSON.stringify({ message: invalid }) }
            : (script.shift() ?? { status: 200, body: '{}' });
        requests.push({
          headers: req.headers,
          raw,
          ...(invalid !== undefined ? { invalid } : {}),
          status: answer.status,
          logs,
          at: performance.now(),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '{}');
        onRequest();
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1/logs`,
    requests,
    accepted,
    answerNext(...answers) {
      script.push(...answers);
    },
    untilAccepted(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timeout = setTimeout(
          () =>
            reject(
              new Error(
                `the collector accepted ${accepted().length} records, not ${count}; requests: ${JSON.stringify(requests.map((r) => [r.status, r.invalid, r.logs.length]))}`,
              ),
            ),
          timeoutMs,
        );
        onRequest = () => {
          if (accepted().length < count) return;
          clearTimeout(timeout);
          onRequest = () => {};
          resolve(accepted());
        };
        onRequest();
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ---- the strict parse -------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function object(value: unknown, at: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${at}: not an object`);
  for (const key of Object.keys(value)) if (!allowed.includes(key)) throw new Error(`${at}.${key}: not a field of this message`);
  return value as Json;
}

function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${at}: not an array`);
  return value;
}

function string(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new Error(`${at}: not a string`);
  return value;
}

/** fixed64/int64 in the JSON mapping: a decimal string. */
function int64(value: unknown, at: string): string {
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new Error(`${at}: an int64 must be a decimal string, got ${JSON.stringify(value)}`);
  return value;
}

function anyValue(value: unknown, at: string): string {
  const v = object(value, at, ['stringValue', 'intValue', 'boolValue', 'doubleValue']);
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new Error(`${at}: an AnyValue holds exactly one value`);
  if ('stringValue' in v) return string(v.stringValue, `${at}.stringValue`);
  if ('intValue' in v) return int64(v.intValue, `${at}.intValue`);
  if ('boolValue' in v && typeof v.boolValue === 'boolean') return String(v.boolValue);
  if ('doubleValue' in v && typeof v.doubleValue === 'number') return String(v.doubleValue);
  throw new Error(`${at}: a bad AnyValue`);
}

function attributes(value: unknown, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, entry] of array(value, at).entries()) {
    const kv = object(entry, `${at}[${i}]`, ['key', 'value']);
    const key = string(kv.key, `${at}[${i}].key`);
    if (key in out) throw new Error(`${at}[${i}]: ${key} repeated`);
    out[key] = anyValue(kv.value, `${at}[${i}].value`);
  }
  return out;
}

export function parseExportLogsServiceRequest(body: unknown): CollectedLog[] {
  const logs: CollectedLog[] = [];
  const request = object(body, 'ExportLogsServiceRequest', ['resourceLogs']);
  for (const [r, rl] of array(request.resourceLogs, 'resourceLogs').entries()) {
    const resourceLogs = object(rl, `resourceLogs[${r}]`, ['resource', 'scopeLogs', 'schemaUrl']);
    const resource = attributes(
      object(resourceLogs.resource, `resourceLogs[${r}].resource`, ['attributes', 'droppedAttributesCount']).attributes,
      `resourceLogs[${r}].resource.attributes`,
    );
    for (const [s, sl] of array(resourceLogs.scopeLogs, `resourceLogs[${r}].scopeLogs`).entries()) {
      const at = `resourceLogs[${r}].scopeLogs[${s}]`;
      const scopeLogs = object(sl, at, ['scope', 'logRecords', 'schemaUrl']);
      const scope = string(object(scopeLogs.scope, `${at}.scope`, ['name', 'version', 'attributes']).name, `${at}.scope.name`);
      for (const [l, lr] of array(scopeLogs.logRecords, `${at}.logRecords`).entries()) {
        const where = `${at}.logRecords[${l}]`;
        const record = object(lr, where, [
          'timeUnixNano',
          'observedTimeUnixNano',
          'severityNumber',
          'severityText',
          'body',
          'attributes',
          'droppedAttributesCount',
          'flags',
          'traceId',
          'spanId',
          'eventName',
        ]);
        const severityNumber = record.severityNumber;
        if (typeof severityNumber !== 'number' || !Number.isInteger(severityNumber) || severityNumber < 1 || severityNumber > 24)
          throw new Error(`${where}.severityNumber: not a SeverityNumber`);
        int64(record.observedTimeUnixNano, `${where}.observedTimeUnixNano`);
        if (record.traceId !== undefined && !/^[0-9a-f]{32}$/.test(string(record.traceId, `${where}.traceId`)))
          throw new Error(`${where}.traceId: not 16 bytes of hex`);
        logs.push({
          resource,
          scope,
          timeUnixNano: int64(record.timeUnixNano, `${where}.timeUnixNano`),
          severityNumber,
          severityText: string(record.severityText, `${where}.severityText`),
          body: anyValue(record.body, `${where}.body`),
          attributes: attributes(record.attributes, `${where}.attributes`),
          ...(record.traceId !== undefined ? { traceId: record.traceId as string } : {}),
        });
      }
    }
  }
  return logs;
}
