import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../logger.js';
import { createDecisionLog } from './decision-log.js';
import { openFileWriter } from './file-writer.js';
import type { DecisionRecord } from './record.js';
import { verifyChain } from './verify.js';

const KEY = Buffer.from('checkpoint-key-of-the-test');

function record(n: number): DecisionRecord {
  return {
    time: new Date(1_700_000_000_000 + n).toISOString(),
    requestId: `req-${n}`,
    traceId: 't',
    decision: 'allow',
    status: 200,
    method: 'GET',
    durationMs: 1,
  };
}

/** Writes `count` records to `dir/decisions.jsonl`, rotating every ~`maxBytes`; returns the files, oldest first. */
async function writeLog(dir: string, count: number, maxBytes = 1 << 20, key: Buffer | undefined = KEY): Promise<string[]> {
  const path = join(dir, 'decisions.jsonl');
  const opened = await openFileWriter({ path, maxFiles: 10, fsync: 'never', fsyncIntervalMs: 1000 });
  const log = createDecisionLog({
    sink: 'file',
    writer: opened.writer,
    state: opened.state,
    maxBytes,
    bytesInFile: opened.bytes,
    firstSeqInFile: opened.firstSeq,
    maxQueue: 100_000,
    ...(key ? { checkpointKey: key } : {}),
    logger: createLogger({ level: 'silent' }),
    now: () => 1_700_000_000_000,
  });
  for (let n = 0; n < count; n++) log.write(record(n));
  await log.close();
  const files = [path];
  for (let n = 1; n <= 10; n++) {
    if (
      await readFile(`${path}.${n}`).then(
        () => true,
        () => false,
      )
    )
      files.unshift(`${path}.${n}`);
  }
  return files;
}

async function editLines(file: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  await writeFile(file, `${edit(lines).join('\n')}\n`);
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-chain-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('an untouched chain verifies, across rotated files, with their HMAC checkpoints', () =>
  withDir(async (dir) => {
    const files = await writeLog(dir, 60, 4096);
    assert.ok(files.length >= 3, `rotated into ${files.length} files`);
    const report = await verifyChain(files, KEY);
    assert.equal(report.broken, undefined);
    assert.equal(report.firstSeq, 0);
    assert.equal(report.lines, 60 + files.length - 1, 'every record, and one checkpoint per rotated file');
    assert.match(report.lastHash ?? '', /^[0-9a-f]{64}$/);
  }));

test('a restart appends to the file and the chain goes on', () =>
  withDir(async (dir) => {
    await writeLog(dir, 3);
    const files = await writeLog(dir, 3);
    const report = await verifyChain(files);
    assert.equal(report.broken, undefined);
    assert.equal(report.lastSeq, 5);
  }));

const TAMPERING: { name: string; edit: (lines: string[]) => string[]; want: RegExp }[] = [
  {
    name: 'a deleted record',
    edit: (l) => l.filter((_, i) => i !== 4),
    want: /decisions\.jsonl:5: seq 5 follows seq 3 .*: seq 4 is missing/,
  },
  {
    name: 'several deleted records',
    edit: (l) => l.filter((_, i) => i < 2 || i > 5),
    want: /:3: seq 6 follows seq 1 .*: seq 2\.\.5 are missing/,
  },
  {
    name: 'an altered record',
    edit: (l) => l.map((line, i) => (i === 3 ? line.replace('"allow"', '"deny"') : line)),
    want: /:5: seq 4 does not chain to the line before it \(.*decisions\.jsonl:4, seq 3\): that line was altered/,
  },
  {
    name: 'an altered record whose seq and prev were kept',
    edit: (l) => l.map((line, i) => (i === 7 ? line.replace('req-7', 'req-x') : line)),
    want: /:9: seq 8 does not chain to the line before it \(.*:8, seq 7\)/,
  },
  {
    name: 'two records swapped',
    edit: (l) => [...l.slice(0, 2), l[3] as string, l[2] as string, ...l.slice(4)],
    want: /:3: seq 3 follows seq 1 .*: seq 2 is missing/,
  },
  {
    name: 'a record moved back',
    edit: (l) => [...l.slice(0, 6), l[2] as string, ...l.slice(6)],
    want: /:7: seq 2 after seq 5 .*: lines out of order or repeated/,
  },
  { name: 'a line cut short', edit: (l) => l.map((line, i) => (i === 5 ? line.slice(0, 40) : line)), want: /:6: not a chained JSON line/ },
];

for (const { name, edit, want } of TAMPERING) {
  test(`caught: ${name}`, () =>
    withDir(async (dir) => {
      const [file] = await writeLog(dir, 10);
      await editLines(file as string, edit);
      const report = await verifyChain([file as string]);
      assert.match(report.broken ?? 'not caught', want);
    }));
}

test('the head of a lone file removed: reported as a chain that starts later, not as verified from genesis', () =>
  withDir(async (dir) => {
    const [file] = await writeLog(dir, 10);
    await editLines(file as string, (l) => l.slice(2));
    const report = await verifyChain([file as string]);
    assert.equal(report.broken, undefined);
    assert.equal(report.firstSeq, 2);
    assert.match(report.notes.join('\n'), /starts at seq 2/);
  }));

test('caught: the head of a rotated file removed (its checkpoint says where it started)', () =>
  withDir(async (dir) => {
    const files = await writeLog(dir, 60, 4096);
    await editLines(files[0] as string, (l) => l.slice(3));
    // Given alone, the file's checkpoint still tells.
    const report = await verifyChain([files[0] as string, files[1] as string], KEY);
    assert.match(
      report.broken ?? 'not caught',
      /the checkpoint says its file starts at seq 0, it starts at seq 3: the file's first lines were removed/,
    );
  }));

test('caught: the tail of a rotated file removed (with its checkpoint)', () =>
  withDir(async (dir) => {
    const files = await writeLog(dir, 60, 4096);
    await editLines(files[0] as string, (l) => l.slice(0, -2));
    const report = await verifyChain(files, KEY);
    assert.match(report.broken ?? 'not caught', /ends without a checkpoint: its last lines were removed/);
  }));

test('caught: a rotated file cut short and closed by a forged checkpoint (HMAC under another key)', () =>
  withDir(async (dir) => {
    const forger = await mkdtemp(join(tmpdir(), 'scopegate-forger-'));
    try {
      const files = await writeLog(dir, 60, 4096);
      const forged = await writeLog(forger, 60, 4096, Buffer.from('not-the-key'));
      // The forger's first file is a valid chain from genesis with its own checkpoint: put it in place.
      await writeFile(files[0] as string, await readFile(forged[0] as string));
      const report = await verifyChain([files[0] as string], KEY);
      assert.match(report.broken ?? 'not caught', /HMAC does not match/);
      // Without the key the checkpoint's HMAC cannot be checked, and verify says so.
      const unkeyed = await verifyChain([files[0] as string]);
      assert.match(unkeyed.notes.join('\n'), /HMAC not checked/);
    } finally {
      await rm(forger, { recursive: true, force: true });
    }
  }));

test('caught: rotated files given in the wrong order', () =>
  withDir(async (dir) => {
    const files = await writeLog(dir, 60, 4096);
    const report = await verifyChain([files[1] as string, files[0] as string, ...files.slice(2)]);
    assert.match(report.broken ?? 'not caught', /out of order or repeated/);
  }));
