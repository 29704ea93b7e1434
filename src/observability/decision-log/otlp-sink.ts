import type { Logger } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import type { OtlpSinkSettings } from '../../config/sections/decision-log.js';
import { registerLogMetrics, UNCOUNTED, type DecisionLog, type LogMetrics } from './decision-log.js';
import { encodeExportRequest, encodeLogRecord, encodeResource } from './otlp-encode.js';
import type { DecisionRecord } from './record.js';

/** Backoff doubles up to this; a Retry-After is honoured up to `MAX_RETRY_AFTER_MS`. */
const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 300_000;

export interface OtlpSinkDeps {
  readonly logger: Logger;
  readonly now: () => number;
  /** The exporter's own connections by default (closed with the sink). */
  readonly dispatcher?: Dispatcher;
}

/**
 * `sink = "otlp"`: decision records as OTLP/HTTP JSON log exports to a collector (otlp-encode.ts).
 *
 * A record is encoded when its request ends and queued as a string: no promise, no timer per record. One export
 * is in flight at a time, of up to `batchSize` records, started once a batch is full or `batchIntervalMs` after
 * its first record. A 429, a 5xx or no answer (refused, reset, timed out) sends the same batch again after a
 * back-off that doubles from `retryBackoffMs` (a `Retry-After` replaces it), so a batch the collector took is
 * never sent twice by us; another 4xx drops the batch (logged, counted). Back-pressure is the other sinks':
 * while `maxQueue` records wait, or exports fail, `accepting()` is false (`fail_closed` → 503) and records that
 * do not fit are dropped and counted in `scopegate_decision_log_dropped_total{sink="otlp"}`.
 */
export function createOtlpSink(settings: OtlpSinkSettings, deps: OtlpSinkDeps): DecisionLog {
  const resource = encodeResource(settings.serviceName, undefined);
  const ownDispatcher = deps.dispatcher === undefined ? new Agent({ connections: 2 }) : undefined;
  const dispatcher = deps.dispatcher ?? (ownDispatcher as Dispatcher);
  const headers: Record<string, string> = { ...settings.headers, 'content-type': 'application/json' };
  const queue: string[] = [];
  let inFlight: string[] | undefined;
  let metrics: LogMetrics = UNCOUNTED;
  let failing = false;
  let attempt = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];

  const queued = () => queue.length + (inFlight?.length ?? 0);
  const sendNow = () => {
    timer = undefined;
    send();
  };

  /** What to do once nothing is in flight: a full batch at once, else wait for more (or flush for a waiter). */
  function next(): void {
    if (inFlight !== undefined || timer !== undefined) return;
    if (queue.length === 0) return settleWaiters();
    if (queue.length >= settings.batchSize || waiters.length > 0) return send();
    timer = setTimeout(sendNow, settings.batchIntervalMs);
    timer.unref();
  }

  function send(): void {
    if (inFlight !== undefined || queue.length === 0) return;
    const batch = queue.splice(0, settings.batchSize);
    inFlight = batch;
    post(batch);
  }

  function post(batch: string[]): void {
    request(settings.endpoint, {
      method: 'POST',
      headers,
      body: encodeExportRequest(resource, batch),
      dispatcher,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      signal: AbortSignal.timeout(settings.timeoutMs),
    }).then(
      async (response) => {
        const text = await response.body.text();
        answered(batch, response.statusCode, response.headers['retry-after'], text);
      },
      (error: Error) => retry(batch, undefined, error),
    ).catch((error: unknown) => retry(batch, undefined, error as Error));
  }

  function answered(batch: string[], status: number, retryAfter: string | string[] | undefined, text: string): void {
    if (status === 429 || status >= 500) return retry(batch, retryAfter, new Error(`the collector answered ${status}`));
    if (status >= 200 && status < 300) {
      metrics.written.inc(batch.length);
      const rejected = rejectedRecords(text);
      if (rejected > 0) {
        metrics.dropped.inc(rejected);
        deps.logger.warn({ sink: 'otlp', rejected }, 'decision log: the collector rejected records of an export (partial success)');
      }
    } else {
      // Not retryable (OTLP/HTTP: 400 means the data will never be accepted): dropped, and said so.
      metrics.writeErrors.inc();
      metrics.dropped.inc(batch.length);
      deps.logger.error({ sink: 'otlp', status, records: batch.length, answer: text.slice(0, 200) }, 'decision log: the collector refused an export; its records are dropped');
    }
    inFlight = undefined;
    failing = false;
    attempt = 0;
    next();
  }

  function retry(batch: string[], retryAfter: string | string[] | undefined, error: Error): void {
    metrics.writeErrors.inc();
    if (!failing) deps.logger.error({ err: error, sink: 'otlp' }, 'decision log: export to the collector failed; retrying (records queue meanwhile)');
    failing = true;
    attempt++;
    settleWaiters();
    if (closed) return; // close() counted what was left
    const delay = retryAfterMs(retryAfter, deps.now()) ?? Math.min(settings.retryBackoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    timer = setTimeout(() => {
      timer = undefined;
      post(batch);
    }, delay);
    timer.unref();
  }

  function settleWaiters(): void {
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  }

  return {
    sink: 'otlp',
    useRegistry(registry) {
      metrics = registerLogMetrics(registry, 'otlp', queued);
    },
    accepting: () => !failing && queued() < settings.maxQueue,
    write(record: DecisionRecord) {
      if (closed || queued() >= settings.maxQueue) {
        metrics.dropped.inc();
        return;
      }
      queue.push(encodeLogRecord(record));
      if (inFlight === undefined && (timer === undefined || queue.length >= settings.batchSize)) {
        clearTimeout(timer);
        timer = undefined;
        next();
      }
    },
    flushed() {
      if (failing || queued() === 0) return Promise.resolve();
      const done = new Promise<void>((resolve) => waiters.push(resolve));
      if (inFlight === undefined && timer !== undefined) {
        clearTimeout(timer);
        sendNow();
      }
      return done;
    },
    async close() {
      if (closed) return;
      await this.flushed();
      closed = true;
      clearTimeout(timer);
      const lost = queued();
      if (lost > 0) {
        metrics.dropped.inc(lost);
        deps.logger.error({ sink: 'otlp', records: lost }, 'decision log: closed while the collector could not take these records; dropped');
      }
      await ownDispatcher?.close();
    },
  };
}

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** ExportLogsServiceResponse's `partialSuccess.rejectedLogRecords` (an int64: a string, or a number). */
function rejectedRecords(text: string): number {
  if (!text.includes('rejected')) return 0;
  try {
    const parsed = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: unknown } };
    const rejected = Number(parsed.partialSuccess?.rejectedLogRecords ?? 0);
    return Number.isSafeInteger(rejected) && rejected > 0 ? rejected : 0;
  } catch {
    return 0;
  }
}
