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
 * `chainLine`'s line, written as UTF-8 into `target` at `at` (which must have room for `lineRoom(body)` bytes), and
 * hashed from those bytes: the line is never a string of its own, and it is encoded once, for the hash and the
 * file both. Returns where the line ends (no newline written).
 */
export function writeChainedLine(state: ChainState, body: string, target: Buffer, at: number): number {
  let end = at + target.write(`{"seq":${state.seq},"prev":"${state.prev}"`, at, 'latin1');
  if (body.length > 2) {
    // The body's `{` is written, then replaced by the comma that follows `prev`.
    const comma = end;
    end += target.write(body, end, 'utf8');
    target[comma] = 0x2c;
  } else {
    target[end++] = 0x7d;
  }
  state.seq += 1;
  state.prev = hash('sha256', target.subarray(at, end), 'hex');
  return end;
}

/** Bytes `writeChainedLine` may need for `body`, newline included: UTF-8 takes at most 3 bytes per UTF-16 unit. */
export function lineRoom(body: string): number {
  return body.length * 3 + 128;
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
