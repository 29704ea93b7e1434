import { createHmac, hash } from 'node:crypto';

/**
 * The decision log's hash chain. Every line is a JSON object that starts with `"seq":N,"prev":"<hex>"`: `seq`
 * counts every line ever written to the chain (it never restarts, not even at rotation), and `prev` is the
 * SHA-256 of the previous line's exact bytes (without its newline); the first line of a chain has
 * `prev` = GENESIS. Removing, changing, inserting or reordering a line breaks the next line's `prev` (or the
 * `seq` sequence), which `verify.ts` reports at the first line that does not follow.
 *
 * Lines that are not decisions:
 * - `{"seq","prev","dropped":N,"time"}`: N records were dropped (queue full) just before this line;
 * - `{"seq","prev","checkpoint":{"records":N,"lastSeq","time","hmac"?}}`: the last line of a rotated file, with
 *   the number of lines the file holds before it and, when a key is configured, an HMAC-SHA256 of
 *   `seq:prev:records` under that key, so a file cut short and closed by a forged checkpoint is caught
 *   by whoever holds the key. The next file's first line chains to it.
 */
export const GENESIS = '0'.repeat(64);

export interface ChainState {
  seq: number;
  prev: string;
}

/** The line for `body` (a JSON object's text, `{…}`), chained after `state`, which it advances. */
export function chainLine(state: ChainState, body: string): string {
  const rest = body.length > 2 ? `,${body.slice(1)}` : '}';
  const line = `{"seq":${state.seq},"prev":"${state.prev}"${rest}`;
  state.seq += 1;
  state.prev = hashLine(line);
  return line;
}

/**
 * Writes a line's body: `value`'s JSON object as UTF-8 at `at`, its opening `{` replaced by the comma that follows
 * `prev` (an empty object: its `}` alone). Returns where it ends, or -1 when `target` has no room for it: the
 * bytes after `at` are then garbage, and the line is written again into a chunk of `room(value)` bytes.
 */
export interface BodyWriter<T> {
  write(value: T, target: Buffer, at: number): number;
  /** Bytes that are always enough for `write`. */
  room(value: T): number;
}

/** A body given as its JSON text (a checkpoint, a `dropped` line; decision records have their own, serialize.ts). */
export const TEXT_BODY: BodyWriter<string> = {
  write(body, target, at) {
    if (body.length <= 2) {
      if (at >= target.length) return -1;
      target[at] = 0x7d;
      return at + 1;
    }
    if (at + body.length * 3 > target.length) return -1;
    const end = at + target.write(body, at, 'utf8');
    target[at] = 0x2c;
    return end;
  },
  room: (body) => body.length * 3,
};

/**
 * `chainLine`'s line and its newline, written as UTF-8 into `target` at `at` by `writer`, and hashed from those
 * bytes: the line is never a string of its own, and it is encoded once, for the hash and the file both. Returns
 * where the newline ends; -1 when `target` has no room for the line, and then `state` is as it was.
 */
export function writeChainedLine<T>(state: ChainState, writer: BodyWriter<T>, value: T, target: Buffer, at: number): number {
  const seq = `${state.seq}`;
  if (at + PREFIX_BYTES + seq.length + state.prev.length >= target.length) return -1;
  let p = at + target.write('{"seq":', at, 'latin1');
  p += target.write(seq, p, 'latin1');
  p += target.write(',"prev":"', p, 'latin1');
  p += target.write(state.prev, p, 'latin1');
  target[p++] = 0x22;
  const end = writer.write(value, target, p);
  if (end === -1 || end >= target.length) return -1;
  state.seq += 1;
  state.prev = hash('sha256', target.subarray(at, end), 'hex');
  target[end] = 0x0a;
  return end + 1;
}

/** `{"seq":`, `,"prev":"` and the closing quote. */
const PREFIX_BYTES = 17;

/** Bytes `writeChainedLine` may need for `value`, newline included. */
export function lineRoom<T>(state: ChainState, writer: BodyWriter<T>, value: T): number {
  return PREFIX_BYTES + 24 + state.prev.length + writer.room(value) + 1;
}

export function hashLine(line: string): string {
  return hash('sha256', line, 'hex');
}

export function checkpointMac(key: Buffer, seq: number, prev: string, records: number): string {
  return createHmac('sha256', key).update(`${seq}:${prev}:${records}`).digest('hex');
}

/** The chain state after `line`, read back (a restart appends where the file ended). */
export function stateAfter(line: string): ChainState | undefined {
  try {
    const parsed = JSON.parse(line) as { seq?: unknown };
    if (typeof parsed.seq !== 'number' || !Number.isSafeInteger(parsed.seq)) return undefined;
    return { seq: parsed.seq + 1, prev: hashLine(line) };
  } catch {
    return undefined;
  }
}
