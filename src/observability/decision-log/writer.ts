/** Where the decision log's lines go: a file that rotates (file-writer.ts) or a stream (stdout). */
export interface LineWriter {
  /** Appends whole lines, the chunks in order; `done(null)` once written, `done(error)` when not (the batch is written again). */
  append(chunks: readonly Buffer[], done: (error: Error | null) => void): void;
  /** Closes the current file and starts the next one (files only). */
  rotate?(done: (error: Error | null) => void): void;
  close(): Promise<void>;
}

/** Standard output: for a collector that reads the container's log (no rotation, no fsync). */
export function createStreamWriter(stream: NodeJS.WritableStream): LineWriter {
  return {
    append(chunks, done) {
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      stream.write(data, (error) => done(error ?? null));
    },
    close: async () => {},
  };
}
