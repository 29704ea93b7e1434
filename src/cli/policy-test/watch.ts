import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { readConfigDocument } from '../../config/load.js';
import { configSchema } from '../../config/config.js';
import { stringFlag, type ParsedArgs } from '../args.js';
import { partsOfConfig } from '../check-files.js';

export interface WatchOptions {
  /** Changes closer together than this make one run (an editor's save is often several events). */
  readonly debounceMs: number;
  /** Resolves the watch: it stops (SIGINT/SIGTERM from main.ts). */
  readonly stop: Promise<void>;
  readonly log: (line: string) => void;
}

/**
 * `scopegate test --watch`: runs the cases, then again whenever the config, a file it names (tokens, users, ACL,
 * JWKS, the HMAC secret) or a test file changes, until stopped; resolves with the last run's exit code. Each
 * file's folder is watched, not the file (an editor saves by writing a new file and renaming it over the old
 * one, which ends a watch on the file); the set is read again after each run, so a newly named file is watched.
 * A run that cannot start (a config or test file error) is reported by `runOnce`, and the watch goes on.
 */
export async function watchPolicyTests(
  configPath: string,
  args: ParsedArgs,
  runOnce: () => Promise<number>,
  options: WatchOptions,
): Promise<number> {
  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let code = 0;
  let stopped = false;

  const run = async (): Promise<void> => {
    try {
      code = await runOnce();
    } catch (error) {
      // A run that failed in a way runOnce does not report (a usage error): said once, and the watch goes on.
      options.log(`scopegate test: ${error instanceof Error ? error.message : String(error)}`);
      code = 2;
    }
    if (stopped) return;
    const files = await watchedFiles(configPath, args);
    // Stopped while the set was read: a watcher made now would outlive the close below and keep the process up.
    if (stopped) return;
    for (const watcher of watchers) watcher.close();
    watchers = watchFolders(files, changed);
    options.log(`watching ${files.length} files for changes (Ctrl-C to stop)`);
  };
  const start = (): void => {
    running = run().finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        start();
      }
    });
  };
  function changed(): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (running !== undefined) again = true;
      else start();
    }, options.debounceMs);
  }

  start();
  await options.stop;
  stopped = true;
  clearTimeout(timer);
  for (const watcher of watchers) watcher.close();
  await running;
  return code;
}

/** The config, the files it names that decide a case's outcome, `--tokens`, and the test files: absolute paths. */
async function watchedFiles(configPath: string, args: ParsedArgs): Promise<string[]> {
  const files = [configPath, ...args.positionals];
  const tokens = stringFlag(args, 'tokens');
  if (tokens !== undefined) files.push(tokens);
  const parsed = configSchema.safeParse(await readConfigDocument(configPath).catch(() => undefined));
  if (parsed.success) {
    const parts = partsOfConfig(parsed.data);
    for (const path of [parts.tokenFile?.path, parts.basic?.users_file, parts.acl?.file, parts.jwks?.file, parts.hmac?.secret_file])
      if (path !== undefined) files.push(path);
  }
  return [...new Set(files.map((file) => resolve(file)))];
}

function watchFolders(files: readonly string[], changed: () => void): FSWatcher[] {
  const byFolder = new Map<string, Set<string>>();
  for (const file of files) {
    const names = byFolder.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byFolder.set(dirname(file), names);
  }
  const watchers: FSWatcher[] = [];
  for (const [folder, names] of byFolder) {
    try {
      const watcher = watch(folder, (_event, name) => {
        if (name === null || names.has(basename(name.toString()))) changed();
      });
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // A folder that is gone: nothing to watch there until the next run reads the set again.
    }
  }
  return watchers;
}
