import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempTokenFile {
  readonly dir: string;
  readonly path: string;
  /** Replaces the file's content (token → tenant name or entry object), as a rotation does. */
  write(tokens: Record<string, unknown>): Promise<void>;
  remove(): Promise<void>;
}

/** A JSON token file (`backend_type = "file"`) in its own temp dir that the test can rewrite; `remove()` deletes it. */
export async function createTempTokenFile(tokens: Record<string, unknown>): Promise<TempTokenFile> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-tokens-'));
  const path = join(dir, 'tokens.json');
  const write = (next: Record<string, unknown>) => writeFile(path, JSON.stringify(next));
  await write(tokens);
  return { dir, path, write, remove: () => rm(dir, { recursive: true, force: true }) };
}
