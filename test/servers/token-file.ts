import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a token file (token → entry) to a fresh temp dir; `remove()` deletes it. */
export async function writeTokenFile(tokens: Record<string, unknown>): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-tokens-'));
  const path = join(dir, 'tokens.json');
  await writeFile(path, JSON.stringify(tokens));
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
