import { Pool } from 'undici';

export interface LoadOptions {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Requests in flight at any time (one connection each). */
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Every response must carry exactly this many body bytes (a check that the proxy streamed it all). */
  readonly expectBytes: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * A closed-loop load generator on one undici Pool: `connections` loops, each sending its next request when
 * the previous response has been read to the end. Warm-up requests are sent but not counted. Bounded: every
 * loop stops at the deadline, and the pool is closed.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1 });
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const deadline = measureFrom + options.durationMs;
  const latenciesMs: number[] = [];
  let errors = 0;

  const loop = async (): Promise<void> => {
    for (let now = performance.now(); now < deadline; now = performance.now()) {
      const sent = now;
      let ok = false;
      try {
        const { statusCode, body } = await pool.request({ method: 'GET', path: options.path, headers: options.headers });
        let bytes = 0;
        for await (const chunk of body) bytes += (chunk as Buffer).length;
        ok = statusCode === 200 && bytes === options.expectBytes;
      } catch {
        ok = false;
      }
      const done = performance.now();
      if (sent < measureFrom || done > deadline) continue;
      if (ok) latenciesMs.push(done - sent);
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  await pool.close();

  latenciesMs.sort((a, b) => a - b);
  const at = (q: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))] ?? Number.NaN;
  return {
    requests: latenciesMs.length,
    errors,
    requestsPerSecond: latenciesMs.length / (options.durationMs / 1000),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latenciesMs[latenciesMs.length - 1] ?? Number.NaN,
  };
}
