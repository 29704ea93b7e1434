import { lineRoom, writeChainedLine, type BodyWriter, type ChainState } from './chain.js';

/**
 * Lines waiting for the writer, as bytes: each line is encoded once, straight into a chunk (chain.ts
 * `writeChainedLine`), and a segment is written with one `writev` of its chunks. Not one string of the whole batch:
 * a string over ~128 KiB is a large V8 object, and building, flattening and encoding one cost ~3 µs per line at
 * 400 lines a batch (docs/decisions.md, "Cost"), more than the line itself.
 */
export interface Segment {
  /** Filled chunks, then the one being filled (`tail`, up to `used`). */
  readonly full: Buffer[];
  tail: Buffer;
  used: number;
  lines: number;
  /** The file rotates once this segment is written (it ends with the checkpoint). */
  rotateAfter: boolean;
}

/** A chunk's size: a batch under load is a few of them (a line is ~600 bytes). */
const CHUNK_BYTES = 64 * 1024;

/** A new segment, filling `spare` (a written segment's chunk, `spareChunk`) when there is one. */
export function newSegment(spare?: Buffer): Segment {
  return { full: [], tail: spare ?? Buffer.allocUnsafeSlow(CHUNK_BYTES), used: 0, lines: 0, rotateAfter: false };
}

/** The chunk of a segment the writer is done with, for the next one (two chunks take turns under load). */
export function spareChunk(segment: Segment): Buffer | undefined {
  return segment.tail.length === CHUNK_BYTES ? segment.tail : undefined;
}

/** A line is started in the chunk being filled when this much of it is free (a record's line is ~600 bytes). */
const MIN_FREE = 4096;

/**
 * Appends the line of `value` (written by `writer`) chained after `state` (which it advances), and its newline;
 * returns its bytes. A line that does not fit what is left of the chunk goes to a new chunk, as large as it needs.
 */
export function appendLine<T>(segment: Segment, state: ChainState, writer: BodyWriter<T>, value: T): number {
  const start = segment.used;
  let end = segment.tail.length - start >= MIN_FREE ? writeChainedLine(state, writer, value, segment.tail, start) : -1;
  if (end === -1) {
    if (segment.used > 0) segment.full.push(segment.tail.subarray(0, segment.used));
    segment.tail = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, lineRoom(state, writer, value)));
    segment.used = 0;
    end = writeChainedLine(state, writer, value, segment.tail, 0);
    if (end === -1) throw new Error('decision log: a line did not fit the room its writer asked for');
  }
  const bytes = end - segment.used;
  segment.used = end;
  segment.lines++;
  return bytes;
}

/** The segment's bytes, for one write. */
export function segmentChunks(segment: Segment): Buffer[] {
  return segment.used === 0 ? segment.full : [...segment.full, segment.tail.subarray(0, segment.used)];
}
