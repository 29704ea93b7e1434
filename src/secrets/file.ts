import { watch as watchFs, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { parseJsonSecret, SecretSourceError, type SecretSource } from './source.js';

export interface FileSourceOptions {
  readonly path: string;
  /** Quiet time after the last change event before `onChange` fires; editors write in several steps. */
  readonly debounceMs?: number;
}

/** A token file, JSON (`.json`) or YAML (`.yaml`/`.yml`; any other extension is read as YAML, a superset). */
export function createFileSource(options: FileSourceOptions): SecretSource {
  const { path } = options;
  const debounceMs = options.debounceMs ?? 100;
  return Object.freeze({
    name: 'file',
    async load(signal?: AbortSignal): Promise<unknown> {
      const text = await readSecretFile(path, signal);
      return extname(path).toLowerCase() === '.json' ? parseJsonSecret(text, path) : parseYamlSecret(text, path);
    },
    watch(onChange: () => void): () => void {
      return watchDirectory(path, debounceMs, onChange);
    },
  });
}

async function readSecretFile(path: string, signal?: AbortSignal): Promise<string> {
  try {
    return await readFile(path, { encoding: 'utf8', ...(signal ? { signal } : {}) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new SecretSourceError(`${path}: cannot read (${code})`, { cause: error });
  }
}

// The yaml library's message quotes the offending line; report its position only.
function parseYamlSecret(text: string, path: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    const line = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new SecretSourceError(`${path}: invalid YAML${line}`);
  }
}

/**
 * Watches the directory, not the file: editors and Kubernetes secret volumes replace the file by rename
 * (a new inode), after which a watch on the old file sees nothing more.
 */
function watchDirectory(path: string, debounceMs: number, onChange: () => void): () => void {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  const watcher: FSWatcher = watchFs(dirname(path), { persistent: false }, (_event, changed) => {
    // Kubernetes swaps a `..data` symlink, so a change to another entry may change our file too.
    if (changed === null || changed === name || changed.startsWith('..')) schedule();
  });
  // A watch error (directory removed) ends change events only; the periodic refresh still runs.
  watcher.on('error', () => undefined);
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
