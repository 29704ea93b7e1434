import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { checkpointMac, TEXT_BODY, type BodyWriter, type ChainState } from './chain.js';
import type { DecisionRecord, DecisionSink } from './record.js';
import { appendLine, newSegment, segmentChunks, spareChunk, type Segment } from './segment.js';
import { createRecordWriter } from './serialize.js';
import type { LineWriter } from './writer.js';

export interface DecisionLogOptions {
  /** `file` or `stdout`: the `sink` label of the metrics. */
  readonly sink: string;
  readonly writer: LineWriter;
  /** Where the chain goes on (file-writer.ts reads it from the file). */
  readonly state: ChainState;
  /** Rotate once a file holds this many bytes (Infinity: never). */
  readonly maxBytes: number;
  readonly bytesInFile: number;
  readonly firstSeqInFile: number;
  /** Lines waiting to be written; past it a record is dropped (and counted), and `accepting` is false. */
  readonly maxQueue: number;
  /** HMAC key of the rotation checkpoints. */
  readonly checkpointKey?: Buffer;
  readonly logger: Logger;
  readonly now: () => number;
  /** Delay before a failed write is tried again. */
  readonly retryMs?: number;
  /**
   * How long records gather before a write starts when the writer is idle (0: at once). Each write costs a
   * thread-pool round trip; under load a few milliseconds make it carry dozens of records instead of one.
   */
  readonly batchMs?: number;
}

/**
 * The decision log: records are serialised and chained (chain.ts) at once, in the order requests end, then
 * queued and written in batches by one writer, so a slow disk never holds a request. A full queue is explicit:
 * the record is dropped, `scopegate_decision_log_dropped_total` counts it and a `dropped` line in the chain
 * says how many went missing there; `accepting()` is false meanwhile (and while writes fail), which the
 * `fail_closed` gate turns into 503s. Writes that fail are retried; their lines stay queued.
 */
export interface DecisionLog extends DecisionSink {
  readonly sink: string;
  /** Counts into this registry from now on (a reload hands the log to the new app, with its registry). */
  useRegistry(registry: Registry): void;
  /** Resolves once every queued line is written (or at once while writes fail). */
  flushed(): Promise<void>;
}

export interface LogMetrics {
  readonly dropped: { inc(value?: number): void };
  readonly written: { inc(value?: number): void };
  readonly writeErrors: { inc(value?: number): void };
}

export const UNCOUNTED: LogMetrics = { dropped: { inc() {} }, written: { inc() {} }, writeErrors: { inc() {} } };

/** Pending records are chained once this many have gathered (or when the batch is written). */
const DRAIN_AT = 256;

export function createDecisionLog(options: DecisionLogOptions): DecisionLog {
  const { writer, state, sink } = options;
  // The segment being written is the first; lines go to the last, unless it is being written or ends a file.
  const segments: Segment[] = [];
  let queuedLines = 0;
  /**
   * Records (and `dropped` lines' text) not yet written into a segment: a record is only kept at the end of its
   * request, and serialised, chained and hashed with others, DRAIN_AT at a time or when the batch is written.
   * The log's code and data then stay in the caches for the run; serialised one at a time, between requests, the
   * same work cost a busy gateway two to three times what it costs in a loop (docs/decisions.md, "Cost").
   */
  const pending: (DecisionRecord | string)[] = [];
  let metrics = UNCOUNTED;

  let bytesInFile = options.bytesInFile;
  let firstSeqInFile = options.firstSeqInFile;
  let droppedSince = 0;
  let writing = false;
  let failing = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let batchTimer: NodeJS.Timeout | undefined;
  const batchMs = options.batchMs ?? 0;
  const writeBatch = () => {
    batchTimer = undefined;
    pump();
  };
  /** A write soon: at once, or once `batchMs` has gathered more records. */
  function schedule(): void {
    if (batchMs === 0) {
      pump();
      return;
    }
    if (batchTimer !== undefined || writing) return;
    batchTimer = setTimeout(writeBatch, batchMs);
    batchTimer.unref();
  }
  let waiters: (() => void)[] = [];

  const recordWriter = createRecordWriter();
  /** A written segment's chunk, filled again by the next segment instead of a new one. */
  let spare: Buffer | undefined;

  /** Chains the pending records' lines into segments, in the order they came. */
  function drain(): void {
    for (const item of pending) {
      if (typeof item === 'string') enqueue(TEXT_BODY, item);
      else enqueue(recordWriter, item);
    }
    pending.length = 0;
  }

  /** Chains `value`'s line and queues it; returns its bytes. */
  function append<T>(writer: BodyWriter<T>, value: T): number {
    let last = segments[segments.length - 1];
    if (last === undefined || last.rotateAfter || (writing && segments.length === 1)) {
      last = newSegment(spare);
      spare = undefined;
      segments.push(last);
    }
    queuedLines++;
    return appendLine(last, state, writer, value);
  }

  function enqueue<T>(writer: BodyWriter<T>, value: T): void {
    bytesInFile += append(writer, value);
    if (bytesInFile >= options.maxBytes) {
      // The file's last line: how it ends, so a cut-short file is caught; the next file chains to it.
      const time = new Date(options.now()).toISOString();
      const mac = options.checkpointKey ? checkpointMac(options.checkpointKey, state.seq, state.prev, firstSeqInFile) : undefined;
      append(TEXT_BODY, JSON.stringify({ checkpoint: { firstSeq: firstSeqInFile, time, ...(mac ? { hmac: mac } : {}) } }));
      (segments[segments.length - 1] as Segment).rotateAfter = true;
      bytesInFile = 0;
      firstSeqInFile = state.seq;
    }
  }

  /** The write or rotation under way, if any: `close` waits for it before the writer closes its descriptor. */
  let inFlight: Promise<void> = Promise.resolve();
  let endInFlight = (): void => {};
  function startInFlight(): void {
    inFlight = new Promise<void>((resolve) => {
      endInFlight = resolve;
    });
  }

  function pump(): void {
    // Closed: nothing may reach the writer (its descriptor's number may already be another file's or socket's).
    if (closed) return;
    drain();
    const first = segments[0];
    if (writing || first === undefined) {
      if (first === undefined) settleWaiters();
      return;
    }
    writing = true;
    if (first.lines === 0) {
      rotateAfter();
      return;
    }
    startInFlight();
    writer.append(segmentChunks(first), (error) => {
      endInFlight();
      if (error) {
        writing = false;
        return fail(error);
      }
      failing = false;
      queuedLines -= first.lines;
      metrics.written.inc(first.lines);
      first.full.length = 0;
      first.used = 0;
      first.lines = 0;
      if (first.rotateAfter) return rotateAfter();
      segments.shift();
      spare = spareChunk(first);
      writing = false;
      // What gathered during this write waits for the next batch, unless someone waits for the flush.
      if (waiters.length > 0) pump();
      else if (segments.length > 0 || pending.length > 0) schedule();
      else settleWaiters();
    });
  }

  /** The first segment is written and ends its file: rotate, then go on. */
  function rotateAfter(): void {
    const rotate = writer.rotate ?? ((done: (error: Error | null) => void) => done(null));
    startInFlight();
    rotate((error) => {
      endInFlight();
      writing = false;
      if (error) return fail(error);
      segments.shift();
      pump();
    });
  }

  function fail(error: Error): void {
    metrics.writeErrors.inc();
    if (!failing) options.logger.error({ err: error, sink }, 'decision log: write failed; retrying (records queue meanwhile)');
    failing = true;
    settleWaiters();
    if (closed) return;
    retry = setTimeout(pump, options.retryMs ?? 1000);
    retry.unref();
  }

  function settleWaiters(): void {
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  }

  return {
    sink,
    useRegistry(registry) {
      metrics = registerLogMetrics(registry, sink, () => queuedLines + pending.length);
    },
    accepting: () => !failing && queuedLines + pending.length < options.maxQueue,
    write(record: DecisionRecord) {
      if (closed || queuedLines + pending.length >= options.maxQueue) {
        droppedSince++;
        metrics.dropped.inc();
        return;
      }
      if (droppedSince > 0) {
        pending.push(JSON.stringify({ dropped: droppedSince, time: record.time }));
        droppedSince = 0;
      }
      pending.push(record);
      // Chained in runs of DRAIN_AT: long enough to keep the caches, and what is held meanwhile stays bounded
      // (~100 KB of records, which a young-generation collection copies), whatever the request rate.
      if (pending.length >= DRAIN_AT) drain();
      schedule();
    },
    flushed() {
      if (failing || (segments.length === 0 && pending.length === 0 && !writing)) return Promise.resolve();
      const done = new Promise<void>((resolve) => waiters.push(resolve));
      if (batchTimer !== undefined) {
        clearTimeout(batchTimer);
        writeBatch();
      }
      return done;
    },
    async close() {
      if (closed) return;
      await this.flushed();
      closed = true;
      clearTimeout(retry);
      clearTimeout(batchTimer);
      batchTimer = undefined;
      await inFlight;
      await writer.close();
    },
  };
}

export function registerLogMetrics(registry: Registry, sink: string, queued: () => number): LogMetrics {
  const dropped = new Counter({
    name: 'scopegate_decision_log_dropped_total',
    help: 'Decision records dropped because the decision log could not keep up (queue full or writes failing).',
    labelNames: ['sink'],
    registers: [registry],
  });
  const written = new Counter({
    name: 'scopegate_decision_log_lines_total',
    help: 'Lines written to the decision log (records, checkpoints and dropped markers).',
    labelNames: ['sink'],
    registers: [registry],
  });
  const writeErrors = new Counter({
    name: 'scopegate_decision_log_write_errors_total',
    help: 'Failed writes to the decision log (retried).',
    labelNames: ['sink'],
    registers: [registry],
  });
  new Gauge({
    name: 'scopegate_decision_log_queue_lines',
    help: 'Decision log lines waiting to be written.',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.set({ sink }, queued());
    },
  });
  // Present at 0 from the start, so an alert on increase() sees the first drop.
  dropped.labels({ sink }).inc(0);
  return { dropped: dropped.labels({ sink }), written: written.labels({ sink }), writeErrors: writeErrors.labels({ sink }) };
}
