import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchProcess } from './processes.js';

/**
 * What the gateway's audit and accounting add per request, each in its own process beside `scopegate`:
 * - `scopegate decisions` (issue #21: at most 10% of a small GET's CPU): the `scopegate` config plus
 *   `[decision_log]` with the file sink (fsync "interval", queries as text) into a temp dir; compare its
 *   CPU µs/req with `scopegate`'s row.
 * - `scopegate query cost`: `[query_cost]` on, sent as `scopegate promql` is (the prometheus route, a token
 *   limited to one namespace); the upstream answers a query that carries `stats` with a stats block
 *   (upstream.ts), which the gateway reads and removes as it streams. Compare with `scopegate promql`'s row.
 */
export const DECISIONS_TARGET = 'scopegate decisions';
export const QUERY_COST_TARGET = 'scopegate query cost';

/** The `[decision_log]` TOML appended to the gateway's config: the file sink, in `dir`. */
export function decisionLogToml(dir: string): string[] {
  return ['[decision_log]', 'sink = "file"', `path = "${join(dir, 'decisions.jsonl')}"`, 'fsync = "interval"', 'queries = "text"', ''];
}

export function queryCostToml(): string[] {
  return ['[query_cost]', 'enabled = true', ''];
}

/** Starts a gateway whose config needs a directory of its own (the decision log's), removed when it stops. */
export async function withTempDir(start: (dir: string) => Promise<BenchProcess | undefined>): Promise<BenchProcess | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-bench-decisions-'));
  const started = await start(dir).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  if (started === undefined) return undefined;
  return {
    ...started,
    stop: async () => {
      await started.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
