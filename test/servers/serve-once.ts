import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch folder for configs and files of a start-up failure test; `remove()` deletes it. */
export async function createScratchDir(): Promise<{
  dir: string;
  file(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-start-'));
  return {
    dir,
    async file(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A minimal TOML config: a token file, one upstream, loopback port 0, plus `extra` (more tables). */
export function minimalToml(options: { tokens: string; listen?: string; extra?: string }): string {
  return [
    'backend_type = "file"',
    `file = { path = ${JSON.stringify(options.tokens)} }`,
    '[proxy]',
    `listen = "${options.listen ?? '127.0.0.1:0'}"`,
    '[[proxy.upstreams]]',
    'match = ".*"',
    'upstream = "http://127.0.0.1:9"',
    '[admin]',
    'listen = "127.0.0.1:0"',
    options.extra ?? '',
    '',
  ].join('\n');
}

export interface StartFailureCase {
  readonly name: string;
  readonly configPath: string;
  /** What the one line on stderr must say. */
  readonly want: RegExp;
}

/**
 * Runs `scopegate serve --config` for each case (at once) through the real binary and checks what a user sees
 * when it cannot start: exit 1, exactly one line on stderr, the expected words, no stack frame.
 */
export async function assertEachFailsToStart(cases: readonly StartFailureCase[]): Promise<void> {
  const runs = await Promise.all(cases.map((c) => serveOnce(c.configPath)));
  cases.forEach((c, i) => {
    const run = runs[i] as { code: number | null; stderr: string };
    assert.equal(run.code, 1, `${c.name}: ${run.stderr}`);
    assert.equal(run.stderr.split('\n').filter((line) => line !== '').length, 1, `${c.name}: one line:\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /^\s+at /m, `${c.name}: no stack frames`);
    assert.match(run.stderr, c.want, c.name);
  });
}

function serveOnce(configPath: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    // A gateway that did start would run until killed: the timeout turns that into a failed assertion.
    execFile(process.execPath, ['bin/scopegate.js', 'serve', '--config', configPath], { timeout: 110_000 }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr });
    });
  });
}
