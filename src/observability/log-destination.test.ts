import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const destination = fileURLToPath(new URL('./log-destination.ts', import.meta.url));

/** Runs `body` in a child Node with `dest = batchedDestination(1, …)` in scope; returns what reached its stdout pipe. */
async function childOutput(body: string): Promise<string> {
  const script = `import { batchedDestination } from ${JSON.stringify(destination)};
const dest = batchedDestination(1, { maxDelayMs: 10_000, maxBytes: 4096 });
${body}`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 });
  return stdout;
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `{"msg":"line ${i}","pad":"${'x'.repeat(80)}"}\n`);

describe('batched log destination', () => {
  it('writes the pending batch when the process exits through process.exit, before its delay is up', async () => {
    const out = await childOutput(`dest.write('{"msg":"last words"}\\n'); process.exit(3);`).catch(
      (error: { stdout: string }) => error.stdout,
    );
    assert.equal(out, '{"msg":"last words"}\n');
  });

  it('writes the pending batch when the event loop runs dry (the timer does not hold the process)', async () => {
    const out = await childOutput(`dest.write('{"msg":"a"}\\n'); dest.write('{"msg":"b"}\\n');`);
    assert.equal(out, '{"msg":"a"}\n{"msg":"b"}\n');
  });

  it('writes a full batch without waiting for the delay, and keeps every line whole and in order', async () => {
    const expected = lines(2000);
    // The delay (10 s) is far longer than the child lives: lines arrive only through full batches and the exit.
    const out = await childOutput(`
      for (let i = 0; i < 2000; i++) dest.write(\`{"msg":"line \${i}","pad":"${'x'.repeat(80)}"}\\n\`);
      // Give the asynchronous writes of the full batches time to land, then exit without the final flush's help:
      // SIGKILL skips every exit handler, so what arrived was written by full batches alone.
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 500);`).catch((error: { stdout: string }) => error.stdout);
    const got = out.split(/(?<=\n)/);
    assert.ok(got.length >= 1900, `only ${got.length} of 2000 lines were written before the delay`);
    assert.deepEqual(got, expected.slice(0, got.length));
  });

  it('writes a lone line once its delay is up, while the process keeps running', async () => {
    const out = await childOutput(`
      const quick = (await import(${JSON.stringify(destination)})).batchedDestination(1, { maxDelayMs: 20, maxBytes: 4096 });
      quick.write('{"msg":"soon"}\\n');
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1000);`).catch((error: { stdout: string }) => error.stdout);
    assert.equal(out, '{"msg":"soon"}\n');
  });
});
