import { close, fdatasync, open, write, writev } from 'node:fs';
import { open as openFile, rename, rm, stat } from 'node:fs/promises';
import { GENESIS, stateAfter, type ChainState } from './chain.js';
import type { LineWriter } from './writer.js';

export interface FileWriterOptions {
  readonly path: string;
  /** Rotated files kept: `path.1` (newest) … `path.<maxFiles>`. */
  readonly maxFiles: number;
  readonly fsync: 'always' | 'interval' | 'never';
  readonly fsyncIntervalMs: number;
}

/** The writer, and where the chain goes on: after the file's last line (a restart appends to it). */
export interface OpenedFile {
  readonly writer: LineWriter;
  readonly state: ChainState;
  /** Bytes already in the file, and the seq of its first line (for the rotation checkpoint). */
  readonly bytes: number;
  readonly firstSeq: number;
}

const TAIL_BYTES = 1 << 20;

/**
 * Appends to `path` with plain `fs.writev` calls on one descriptor (no stream: the log does its own batching
 * and back-pressure), `fdatasync` per the fsync policy, and rotation by renaming (`path` → `path.1` → …).
 * Opening reads the end of the existing file (or of `path.1` when `path` is new) so the chain continues.
 */
export async function openFileWriter(options: FileWriterOptions): Promise<OpenedFile> {
  const { path } = options;
  const existing = await readEnds(path);
  const previous = existing.bytes > 0 ? existing : await readEnds(`${path}.1`);
  const state = (previous.lastLine !== undefined ? stateAfter(previous.lastLine) : undefined) ?? { seq: 0, prev: GENESIS };
  const firstSeq = existing.bytes > 0 ? (firstSeqOf(existing.firstLine) ?? state.seq) : state.seq;
  let fd = await openFd(path);
  let dirty = false;
  // After close the descriptor's number may belong to another file or socket: nothing may use it again.
  let closed = false;
  const timer =
    options.fsync === 'interval'
      ? setInterval(() => {
          if (!dirty || closed) return;
          dirty = false;
          fdatasync(fd, () => {});
        }, options.fsyncIntervalMs)
      : undefined;
  timer?.unref();

  const synced = (done: (error: Error | null) => void): void => {
    dirty = true;
    if (options.fsync === 'always') fdatasync(fd, (syncError) => done(syncError));
    else done(null);
  };
  const writeAll = (data: Buffer, offset: number, done: (error: Error | null) => void): void => {
    write(fd, data, offset, data.length - offset, null, (error, written) => {
      if (error) return done(error);
      if (offset + written < data.length) return writeAll(data, offset + written, done);
      synced(done);
    });
  };

  const writer: LineWriter = {
    append(chunks, done) {
      if (closed) return done(new Error(`decision log ${path} is closed`));
      // One writev of the batch's chunks; a short write (a full disk) goes on from their concatenation.
      writev(fd, chunks, (error, written) => {
        if (error) return done(error);
        let total = 0;
        for (const chunk of chunks) total += chunk.length;
        if (written < total) return writeAll(Buffer.concat(chunks), written, done);
        synced(done);
      });
    },
    rotate(done) {
      if (closed) return done(new Error(`decision log ${path} is closed`));
      const old = fd;
      fdatasync(old, () => {
        close(old, () => {
          shiftRotated(path, options.maxFiles)
            .then(() => openFd(path))
            .then(
              (next) => {
                fd = next;
                dirty = false;
                done(null);
              },
              (error: Error) => done(error),
            );
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await new Promise<void>((resolve) => fdatasync(fd, () => close(fd, () => resolve())));
    },
  };
  return { writer, state, bytes: existing.bytes, firstSeq };
}

function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'a', 0o640, (error, fd) => (error ? reject(error) : resolve(fd))));
}

async function shiftRotated(path: string, maxFiles: number): Promise<void> {
  await rm(`${path}.${maxFiles}`, { force: true });
  for (let n = maxFiles - 1; n >= 1; n--) {
    await rename(`${path}.${n}`, `${path}.${n + 1}`).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  await rename(path, `${path}.1`);
}

/** The first and last complete lines of a file, and its size; nothing when it does not exist. */
async function readEnds(path: string): Promise<{ bytes: number; firstLine?: string; lastLine?: string }> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: 0 };
    throw error;
  }
  if (size === 0) return { bytes: 0 };
  const handle = await openFile(path, 'r');
  try {
    const headLength = Math.min(size, TAIL_BYTES);
    const head = Buffer.alloc(headLength);
    await handle.read(head, 0, headLength, 0);
    const tailLength = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    const firstLine = head.toString('utf8').split('\n')[0];
    const lines = tail
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '');
    return {
      bytes: size,
      ...(firstLine !== undefined ? { firstLine } : {}),
      ...(lines.length > 0 ? { lastLine: lines[lines.length - 1] } : {}),
    };
  } finally {
    await handle.close();
  }
}

function firstSeqOf(line: string | undefined): number | undefined {
  if (line === undefined) return undefined;
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : undefined;
  } catch {
    return undefined;
  }
}
