import { writeSync } from 'node:fs';
import { pino, type DestinationStream } from 'pino';

/** How long a line may wait to be batched with others, and how much is written at most per batch. */
export interface BatchOptions {
  readonly maxDelayMs: number;
  readonly maxBytes: number;
}

const DEFAULT_BATCH: BatchOptions = { maxDelayMs: 50, maxBytes: 16 * 1024 };

/**
 * The log destination: lines gathered for at most `maxDelayMs` (or until `maxBytes`), then written to the
 * file descriptor in one asynchronous write (pino's sonic-boom). Under load one write carries dozens of
 * access-log lines: a write through libuv's thread pool costs ~30 µs of CPU whatever its size, which per
 * request was a fifth of the gateway's CPU. A quiet gateway's line still appears within `maxDelayMs`.
 * Nothing is lost on exit: on `process.exit` (every way the CLI ends) the batch and sonic-boom's own buffer
 * are written synchronously. A SIGKILL loses at most the last `maxDelayMs` of lines.
 */
export function batchedDestination(fd: number, options: BatchOptions = DEFAULT_BATCH): DestinationStream {
  const stream = pino.destination({ dest: fd, sync: false });
  let batch = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (batch === '') return;
    const text = batch;
    batch = '';
    stream.write(text);
  };
  // At exit only synchronous writes happen: what sonic-boom still queues, then the batch (handed to
  // sonic-boom's asynchronous write now, it could be lost with the thread pool).
  process.once('exit', () => {
    clearTimeout(timer);
    try {
      stream.flushSync();
      if (batch !== '') writeSync(fd, batch);
    } catch {
      // Nothing more can be done for a destination that is closed or full.
    }
    batch = '';
  });
  return {
    write(line: string) {
      batch += line;
      if (batch.length >= options.maxBytes) flush();
      else if (timer === undefined) timer = setTimeout(flush, options.maxDelayMs).unref();
    },
  };
}
