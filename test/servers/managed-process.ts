import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortClashError } from './free-port.js';

/** A child process owned by a test: killed in `stop()`, or when the test process exits, with its temp dir. */
export interface ManagedProcess {
  readonly dir: string;
  readonly child: ChildProcess;
  /** Last lines of stdout+stderr, for error messages. */
  output(): string;
  /** Polls `url` until it answers 200 (or the process dies / the deadline passes). */
  waitUntilOk(url: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `scopegate-${prefix}-`));
}

/** Spawns `command` with `args`; `dir` is the temp dir to remove when it stops (made by `makeTempDir`). */
export function startManagedProcess(command: string, args: readonly string[], dir: string): ManagedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)));
  // Last resort against orphans: `exit` handlers must be synchronous. A SIGINT/SIGTERM (Ctrl-C, the test
  // runner's timeout) skips `exit`, so those clean up too and then re-raise the signal: by then every `once`
  // listener is gone and the default action ends the process as it would have.
  const onExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    onExit();
    process.kill(process.pid, signal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
  });

  async function stop(): Promise<void> {
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killTimer);
    }
    await rm(dir, { recursive: true, force: true });
  }

  async function waitUntilOk(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await stop();
    if (/address already in use/i.test(output)) throw new PortClashError(`${command}: port clash`);
    throw new Error(`${command} did not become ready at ${url}:\n${output}`);
  }

  return { dir, child, output: () => output, waitUntilOk, stop };
}
