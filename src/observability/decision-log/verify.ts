import { createReadStream } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { createInterface } from 'node:readline';
import { GENESIS, checkpointMac, hashLine } from './chain.js';

export interface ChainReport {
  /** The first line that does not follow, and why; absent when the chain holds. */
  readonly broken?: string;
  readonly lines: number;
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  /** SHA-256 of the last line: compare it with a copy kept elsewhere to prove the live file's end. */
  readonly lastHash: string | undefined;
  /** What could not be checked (no key for an HMAC'd checkpoint, a chain that starts in an earlier file). */
  readonly notes: readonly string[];
}

interface Position {
  readonly at: string;
  readonly seq: number;
  readonly hash: string;
}

/**
 * Checks the decision log chain (chain.ts) across `files`, given oldest first (`decisions.jsonl.3 … .1
 * decisions.jsonl`), and names the first line that does not follow: one missing (a gap in `seq`), altered (the
 * next line's `prev` no longer matches it), reordered, cut short, or a rotated file without its checkpoint.
 * With `key`, each checkpoint's HMAC is checked too. The end of the live file cannot be proven by the chain
 * alone: its last hash is reported, to compare with one kept elsewhere.
 */
export async function verifyChain(files: readonly string[], key?: Buffer): Promise<ChainReport> {
  const notes: string[] = [];
  let last: Position | undefined;
  let firstSeq: number | undefined;
  let lines = 0;
  const report = (broken?: string): ChainReport => ({
    ...(broken !== undefined ? { broken } : {}),
    lines,
    firstSeq,
    lastSeq: last?.seq,
    lastHash: last?.hash,
    notes,
  });
  for (const [index, file] of files.entries()) {
    let lineNo = 0;
    let fileFirstSeq: number | undefined;
    let checkpointAt: string | undefined;
    const reader = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of reader) {
        lineNo++;
        const at = `${file}:${lineNo}`;
        if (checkpointAt !== undefined) return report(`${at}: a line after the checkpoint at ${checkpointAt} (a checkpoint ends its file)`);
        const parsed = parseLine(line);
        if (parsed === undefined) return report(`${at}: not a chained JSON line (altered, or cut short)`);
        const { seq, prev } = parsed;
        if (last === undefined) {
          firstSeq = seq;
          if (seq === 0 && prev !== GENESIS) return report(`${at}: seq 0 does not start from the genesis hash`);
          if (seq !== 0) notes.push(`the chain starts at seq ${seq} in ${file}: the files before it were not given`);
        } else {
          if (seq > last.seq + 1)
            return report(`${at}: seq ${seq} follows seq ${last.seq} (${last.at}): ${describeGap(last.seq + 1, seq - 1)} missing`);
          if (seq <= last.seq) return report(`${at}: seq ${seq} after seq ${last.seq} (${last.at}): lines out of order or repeated`);
          if (prev !== last.hash)
            return report(
              `${at}: seq ${seq} does not chain to the line before it (${last.at}, seq ${last.seq}): that line was altered, or this one was`,
            );
        }
        fileFirstSeq ??= seq;
        if (parsed.checkpoint !== undefined) {
          const problem = checkCheckpoint(parsed.checkpoint, seq, prev, fileFirstSeq, key, notes);
          if (problem !== undefined) return report(`${at}: ${problem}`);
          checkpointAt = at;
        }
        lines++;
        last = { at, seq, hash: hashLine(line) };
      }
    } catch (error) {
      return report(`${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}: cannot read`);
    } finally {
      reader.close();
    }
    if (index < files.length - 1 && checkpointAt === undefined) {
      return report(`${file}: ends without a checkpoint: its last lines were removed, or the files are not given oldest first`);
    }
  }
  return report();
}

function describeGap(from: number, to: number): string {
  return from === to ? `seq ${from} is` : `seq ${from}..${to} are`;
}

interface ParsedLine {
  readonly seq: number;
  readonly prev: string;
  readonly checkpoint?: { readonly firstSeq?: unknown; readonly hmac?: unknown };
}

function parseLine(line: string): ParsedLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { seq, prev, checkpoint } = value as { seq?: unknown; prev?: unknown; checkpoint?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (typeof prev !== 'string' || !/^[0-9a-f]{64}$/.test(prev)) return undefined;
  if (checkpoint !== undefined && (typeof checkpoint !== 'object' || checkpoint === null)) return undefined;
  return { seq, prev, ...(checkpoint !== undefined ? { checkpoint: checkpoint as ParsedLine['checkpoint'] & object } : {}) };
}

function checkCheckpoint(
  checkpoint: NonNullable<ParsedLine['checkpoint']>,
  seq: number,
  prev: string,
  fileFirstSeq: number,
  key: Buffer | undefined,
  notes: string[],
): string | undefined {
  if (checkpoint.firstSeq !== fileFirstSeq) {
    return `the checkpoint says its file starts at seq ${String(checkpoint.firstSeq)}, it starts at seq ${fileFirstSeq}: the file's first lines were removed`;
  }
  const mac = checkpoint.hmac;
  if (key === undefined) {
    if (typeof mac === 'string') notes.push(`checkpoint at seq ${seq}: HMAC not checked (no --key-file)`);
    return undefined;
  }
  if (typeof mac !== 'string') return 'the checkpoint carries no HMAC, and a key was given';
  const want = Buffer.from(checkpointMac(key, seq, prev, fileFirstSeq), 'hex');
  const got = Buffer.from(mac, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return "the checkpoint's HMAC does not match (forged, or another key)";
  return undefined;
}
