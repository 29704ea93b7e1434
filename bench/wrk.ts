import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface WrkRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** A binary body (snappy, gzip), read from this file by the script (a Lua string literal cannot carry it). */
  readonly bodyFile?: string;
}

export interface WrkResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus socket errors (connect, read, write, timeout). */
  readonly errors: number;
}

/** The wrk Lua script that sends `request` (method, headers, body) on every connection. */
export async function writeWrkScript(dir: string, name: string, request: WrkRequest): Promise<string> {
  const lines = [`wrk.method = ${JSON.stringify(request.method)}`];
  // wrk keys its headers by the exact name and sets "Host" itself: write names in that case, or Host is sent twice.
  const canonical = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
  for (const [header, value] of Object.entries(request.headers))
    lines.push(`wrk.headers[${JSON.stringify(canonical(header))}] = ${JSON.stringify(value)}`);
  if (request.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(request.body)}`);
  if (request.bodyFile !== undefined)
    lines.push(`local file = assert(io.open(${JSON.stringify(request.bodyFile)}, "rb"))`, 'wrk.body = file:read("*a")', 'file:close()');
  const path = join(dir, `${name}.lua`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/**
 * One wrk run (a C load generator with its own event loop: the load costs the measured processes nothing),
 * one thread, `connections` keep-alive connections, pinned with taskset to `cpu` when given. Bounded by
 * `durationS`; wrk's own --timeout (2 s) bounds every request.
 */
export async function runWrk(options: {
  readonly origin: string;
  readonly path: string;
  readonly script: string;
  readonly connections: number;
  readonly durationS: number;
  readonly cpu?: number;
}): Promise<WrkResult> {
  const wrkArgs = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--timeout',
    '2s',
    '--latency',
    '-s',
    options.script,
    `${options.origin}${options.path}`,
  ];
  const [command, args] = options.cpu === undefined ? ['wrk', wrkArgs] : ['taskset', ['-c', String(options.cpu), 'wrk', ...wrkArgs]];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
  });
  return parseWrkOutput(output, options.durationS);
}

/** Reads wrk 4's summary: "N requests in", the latency distribution, "Non-2xx", "Socket errors". */
export function parseWrkOutput(text: string, durationS: number): WrkResult {
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? Number.NaN);
  const percentile = (p: number) => toMs(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text));
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? Number.NaN);
  return {
    requests,
    requestsPerSecond: Number.isFinite(perSecond) ? perSecond : requests / durationS,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    errors: non2xx + socketErrors,
  };
}

function toMs(match: RegExpExecArray | null): number {
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}
