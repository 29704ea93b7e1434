import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { OtlpSinkSettings } from '../../config/sections/decision-log.js';
import { registerLogMetrics, UNCOUNTED, type DecisionLog, type LogMetrics } from './decision-log.js';
import { encodeExportRequest, encodeLogRecord, encodeResource } from './otlp-encode.js';
import { postExport, retryAfterMs, type ExportOutcome, type ExportTarget } from './otlp-export.js';
import type { DecisionRecord } from './record.js';

/** The back-off doubles up to this. */
const MAX_BACKOFF_MS = 30_000;

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
  const headers = { ...settings.headers, 'content-type': 'application/json' };
  const exportTarget: ExportTarget = {
    endpoint: settings.endpoint,
    headers,
    dispatcher: deps.dispatcher ?? (ownDispatcher as Dispatcher),
    timeoutMs: settings.timeoutMs,
  };
  const queue: string[] = [];
  let inFlight: string[] | undefined;
  let metrics: LogMetrics = UNCOUNTED;
  let failing = false;
  let attempt = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const waiters: (() => void)[] = [];

  const queued = () => queue.length + (inFlight?.length ?? 0);
  const sendNow = () => {
    timer = undefined;
    send();
  };

  /** What to do once nothing is in flight: a full batch at once, else wait for more (or flush for a waiter). */
  function next(): void {
    if (inFlight !== undefined || timer !== undefined) return;
    if (queue.length === 0) settleWaiters();
    else if (queue.length >= settings.batchSize || waiters.length > 0) send();
    else {
      timer = setTimeout(sendNow, settings.batchIntervalMs);
      timer.unref();
    }
  }

  function send(): void {
    if (inFlight !== undefined || queue.length === 0) return;
    const batch = queue.splice(0, settings.batchSize);
    inFlight = batch;
    post(batch);
  }

  const post = (batch: string[]) => postExport(exportTarget, encodeExportRequest(resource, batch), (outcome) => settle(batch, outcome));

  function settle(batch: string[], outcome: ExportOutcome): void {
    if (outcome.kind === 'retry') {
      retry(batch, outcome.retryAfter, outcome.error);
      return;
    }
    countOutcome(outcome, batch.length, metrics, deps.logger);
    inFlight = undefined;
    failing = false;
    attempt = 0;
    next();
  }

  function retry(batch: string[], retryAfter: string | string[] | undefined, error: Error): void {
    metrics.writeErrors.inc();
    if (!failing)
      deps.logger.error({ err: error, sink: 'otlp' }, 'decision log: export to the collector failed; retrying (records queue meanwhile)');
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

  const settleWaiters = () => {
    for (const resolve of waiters.splice(0)) resolve();
  };

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
      await closeExporter(queued(), metrics, deps.logger, ownDispatcher);
    },
  };
}

/** An export that ended: accepted (with a partial success's rejects) or refused for good; either way it is done. */
function countOutcome(outcome: Exclude<ExportOutcome, { kind: 'retry' }>, records: number, metrics: LogMetrics, logger: Logger): void {
  if (outcome.kind === 'accepted') {
    metrics.written.inc(records);
    if (outcome.rejected === 0) return;
    metrics.dropped.inc(outcome.rejected);
    logger.warn(
      { sink: 'otlp', rejected: outcome.rejected },
      'decision log: the collector rejected records of an export (partial success)',
    );
    return;
  }
  // Not retryable (OTLP/HTTP: a 400 will never be accepted): dropped, and said so.
  metrics.writeErrors.inc();
  metrics.dropped.inc(records);
  logger.error(
    { sink: 'otlp', status: outcome.status, records, answer: outcome.answer },
    'decision log: the collector refused an export; its records are dropped',
  );
}

/** At close: what could not be sent is dropped (counted); a failing collector is not waited for (its timeout). */
async function closeExporter(lost: number, metrics: LogMetrics, logger: Logger, dispatcher: Agent | undefined): Promise<void> {
  if (lost === 0) return dispatcher?.close();
  metrics.dropped.inc(lost);
  logger.error({ sink: 'otlp', records: lost }, 'decision log: closed while the collector could not take these records; dropped');
  return dispatcher?.destroy();
}
