import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createLogger } from '../logger.js';
import { GENESIS, hashLine } from './chain.js';
import { createDecisionLog } from './decision-log.js';
import type { DecisionRecord } from './record.js';
import type { LineWriter } from './writer.js';

function record(n: number): DecisionRecord {
  return {
    time: '2026-01-01T00:00:00.000Z',
    requestId: `req-${n}`,
    traceId: 't',
    decision: 'deny',
    code: 'no_label_policy',
    status: 403,
    method: 'GET',
    durationMs: 1,
  };
}

/** A writer whose appends complete only when the test says (a disk that cannot keep up), or fail. */
function heldWriter() {
  const written: string[] = [];
  const pending: { data: string; done: (error: Error | null) => void }[] = [];
  let failWith: Error | undefined;
  const writer: LineWriter = {
    append(chunks, done) {
      pending.push({ data: Buffer.concat(chunks).toString('utf8'), done });
    },
    close: async () => {},
  };
  return {
    writer,
    written,
    failNext(error: Error | undefined) {
      failWith = error;
    },
    /** Completes the appends waiting now. */
    release() {
      for (const { data, done } of pending.splice(0)) {
        if (failWith) {
          done(failWith);
          continue;
        }
        written.push(...data.split('\n').filter((l) => l !== ''));
        done(null);
      }
    },
  };
}

function makeLog(writer: LineWriter, maxQueue: number, registry = new Registry(), batchMs?: number) {
  const log = createDecisionLog({
    sink: 'file',
    writer,
    state: { seq: 0, prev: GENESIS },
    maxBytes: Number.POSITIVE_INFINITY,
    bytesInFile: 0,
    firstSeqInFile: 0,
    maxQueue,
    logger: createLogger({ level: 'silent' }),
    now: () => 0,
    retryMs: 1,
    ...(batchMs !== undefined ? { batchMs } : {}),
  });
  log.useRegistry(registry);
  return { log, registry };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Number(found?.values[0]?.value ?? 0);
}

test('records are chained in the order they are written, and batched while the writer is busy', async () => {
  const held = heldWriter();
  const { log } = makeLog(held.writer, 100);
  log.write(record(1));
  log.write(record(2));
  log.write(record(3));
  held.release(); // the first append held record 1 alone
  held.release(); // then 2 and 3 in one batch
  await log.flushed();
  assert.equal(held.written.length, 3);
  const lines = held.written.map((l) => JSON.parse(l) as { seq: number; prev: string; requestId: string });
  assert.deepEqual(
    lines.map((l) => l.seq),
    [0, 1, 2],
  );
  assert.equal(lines[0]?.prev, GENESIS);
  assert.equal(lines[1]?.prev, hashLine(held.written[0] as string));
  assert.equal(lines[2]?.requestId, 'req-3');
});

test('a full queue drops records, counts them, says so in the chain, and is not accepting meanwhile', async () => {
  const held = heldWriter();
  const { log, registry } = makeLog(held.writer, 2);
  assert.equal(await metric(registry, 'scopegate_decision_log_dropped_total'), 0, 'present at 0 before the first drop');
  log.write(record(1));
  log.write(record(2));
  assert.equal(log.accepting(), false);
  log.write(record(3));
  log.write(record(4));
  assert.equal(await metric(registry, 'scopegate_decision_log_dropped_total'), 2);
  held.release();
  held.release();
  await log.flushed();
  assert.equal(log.accepting(), true);
  log.write(record(5));
  held.release();
  await log.flushed();
  const lines = held.written.map((l) => JSON.parse(l) as { dropped?: number; requestId?: string });
  assert.deepEqual(
    lines.map((l) => l.requestId ?? `dropped ${l.dropped}`),
    ['req-1', 'req-2', 'dropped 2', 'req-5'],
  );
});

test('failing writes are retried with their lines kept, and the log is not accepting while they fail', async () => {
  const held = heldWriter();
  const { log, registry } = makeLog(held.writer, 100);
  held.failNext(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
  log.write(record(1));
  held.release();
  assert.equal(log.accepting(), false);
  assert.equal(await metric(registry, 'scopegate_decision_log_write_errors_total'), 1);
  held.failNext(undefined);
  await new Promise((resolve) => setTimeout(resolve, 5)); // the retry timer (retryMs: 1)
  held.release();
  await log.flushed();
  assert.equal(log.accepting(), true);
  assert.equal(held.written.length, 1);
  assert.equal((JSON.parse(held.written[0] as string) as { seq: number }).seq, 0);
});

test('the stream writer (sink = "stdout") writes the same chained lines to its stream', async () => {
  const { PassThrough } = await import('node:stream');
  const { createStreamWriter } = await import('./writer.js');
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const { log } = makeLog(createStreamWriter(stream), 100);
  log.write(record(1));
  log.write(record(2));
  await log.flushed();
  const lines = Buffer.concat(chunks)
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { seq: number; requestId: string });
  assert.deepEqual(
    lines.map((l) => [l.seq, l.requestId]),
    [
      [0, 'req-1'],
      [1, 'req-2'],
    ],
  );
});

test('batch after batch (a written chunk filled again by the next batch), every line is whole and chained', async () => {
  const { PassThrough } = await import('node:stream');
  const { createStreamWriter } = await import('./writer.js');
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  // A copy of what arrived, as a file would hold it: the chunk the log hands over is its own to fill again.
  stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  const { log } = makeLog(createStreamWriter(stream), 1000);
  for (let round = 0; round < 4; round++) {
    for (let n = 0; n < 150; n++) log.write(record(round * 1000 + n));
    await log.flushed();
  }
  const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
  assert.equal(lines.length, 600);
  let prev = GENESIS;
  lines.forEach((line, seq) => {
    const parsed = JSON.parse(line) as { seq: number; prev: string; requestId: string };
    assert.equal(parsed.seq, seq);
    assert.equal(parsed.prev, prev);
    assert.equal(parsed.requestId, `req-${Math.floor(seq / 150) * 1000 + (seq % 150)}`);
    prev = hashLine(line);
  });
});

test('once closed, nothing reaches the writer: no batch timer, retry or write left behind (a closed descriptor may already be another file)', async () => {
  // A closed file's descriptor number is handed to the next file opened (or socket accepted): a write issued
  // after close would put these records there. Closing while writes fail, with a batch still gathering.
  let appendsAfterClose = 0;
  let closedWriter = false;
  const writer: LineWriter = {
    append(_chunks, done) {
      if (closedWriter) appendsAfterClose++;
      setImmediate(() => done(new Error('ENOSPC')));
    },
    close: async () => {
      closedWriter = true;
    },
  };
  const { log } = makeLog(writer, 100, new Registry(), 5);
  log.write(record(1));
  await new Promise((resolve) => setTimeout(resolve, 20)); // the first write failed; retries run every 1 ms
  log.write(record(2)); // a batch is gathering
  await log.close();
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(appendsAfterClose, 0);
});

test('records gathered for a batch are written in order at its end, count against the queue meanwhile, and flushed() writes them at once', async () => {
  const held = heldWriter();
  const { log, registry } = makeLog(held.writer, 200, new Registry(), 60_000);
  for (let n = 1; n <= 150; n++) log.write(record(n));
  assert.equal(held.written.length, 0, 'nothing written before the batch ends');
  assert.equal(await metric(registry, 'scopegate_decision_log_queue_lines'), 150, 'gathered records are queued lines');
  for (let n = 151; n <= 210; n++) log.write(record(n));
  assert.equal(log.accepting(), false, 'the queue holds gathered records too');
  assert.equal(await metric(registry, 'scopegate_decision_log_dropped_total'), 10);
  const flushed = log.flushed();
  held.release();
  await flushed;
  const lines = held.written.map((l) => JSON.parse(l) as { seq: number; prev: string; requestId: string });
  assert.deepEqual(
    lines.map((l) => l.requestId),
    Array.from({ length: 200 }, (_, i) => `req-${i + 1}`),
  );
  lines.forEach((line, i) => {
    assert.equal(line.seq, i);
    assert.equal(line.prev, i === 0 ? GENESIS : hashLine(held.written[i - 1] as string));
  });
  await log.close();
});
