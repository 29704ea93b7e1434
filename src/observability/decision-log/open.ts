import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { otlpSinkSettings, type DecisionLogSection } from '../../config/sections/decision-log.js';
import { GENESIS } from './chain.js';
import { createDecisionLog, type DecisionLog } from './decision-log.js';
import { openFileWriter } from './file-writer.js';
import { createOtlpSink } from './otlp-sink.js';
import { createStreamWriter } from './writer.js';

/**
 * Records gather this long before a write starts (a crash loses at most this much more than fsync's interval,
 * 1 s by default). Each write costs ~40 µs of the proxy's core (the thread pool's worker shares it): at 5 ms the
 * writes were 6.5% of a busy gateway's CPU, at 50 ms 1% (docs/decisions.md, "Cost").
 */
const BATCH_MS = 50;

export interface SharedDecisionLog extends DecisionLog {
  /** `file:<path>`, `otlp:<endpoint>` or `stdout`: a reload that keeps it keeps the log (one writer per file, one chain). */
  readonly target: string;
  /** Another app uses it too (reload); `close` closes it when the last one does. */
  retain(): void;
}

/**
 * The decision log of `[decision_log]`. A reload hands the running log to the new app when it writes to the
 * same place (two writers on one file would fork the chain); writer settings other than the place (rotation,
 * fsync, queue) then take effect at the next restart, which is logged.
 */
export async function openDecisionLog(
  section: DecisionLogSection,
  deps: { readonly logger: Logger; readonly now: () => number; readonly previous?: SharedDecisionLog | undefined },
): Promise<SharedDecisionLog> {
  const target =
    section.sink === 'file' ? `file:${section.path ?? ''}` : section.sink === 'otlp' ? `otlp:${section.otlp_endpoint ?? ''}` : 'stdout';
  if (deps.previous?.target === target) {
    deps.previous.retain();
    return deps.previous;
  }
  const log = section.sink === 'otlp' ? createOtlpSink(otlpSinkSettings(section), deps) : await openLineLog(section, deps);
  let users = 1;
  const closeLog = log.close.bind(log);
  return Object.assign(log, {
    target,
    retain() {
      users++;
    },
    async close() {
      users--;
      if (users === 0) await closeLog();
    },
  });
}

/** `file` and `stdout`: chained JSON lines (decision-log.ts). */
async function openLineLog(
  section: DecisionLogSection,
  deps: { readonly logger: Logger; readonly now: () => number },
): Promise<DecisionLog> {
  const checkpointKey =
    section.checkpoint_key_file === undefined ? undefined : Buffer.from((await readFile(section.checkpoint_key_file, 'utf8')).trim());
  const opened =
    section.sink === 'file'
      ? await openFileWriter({
          path: section.path as string,
          maxFiles: section.max_files,
          fsync: section.fsync,
          fsyncIntervalMs: section.fsync_interval,
        })
      : { writer: createStreamWriter(process.stdout), state: { seq: 0, prev: GENESIS }, bytes: 0, firstSeq: 0 };
  return createDecisionLog({
    sink: section.sink,
    writer: opened.writer,
    state: opened.state,
    maxBytes: section.sink === 'file' ? section.max_bytes : Number.POSITIVE_INFINITY,
    bytesInFile: opened.bytes,
    firstSeqInFile: opened.firstSeq,
    maxQueue: section.max_queue,
    ...(checkpointKey !== undefined ? { checkpointKey } : {}),
    logger: deps.logger,
    now: deps.now,
    batchMs: BATCH_MS,
  });
}
