import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BenchProcess {
  readonly pid: number;
  readonly origin: string;
  stop(): Promise<void>;
}

/** Where a process runs: `cpu` pins it (and its children) with taskset. */
export interface Placement {
  readonly cpu?: number | undefined;
}

/** `command args…`, behind `taskset -c CPU` when pinned (taskset execs it: the pid stays the same). */
export function spawnPinned(
  placement: Placement,
  command: string,
  args: readonly string[],
  options: Parameters<typeof spawn>[2],
): ChildProcess {
  const child =
    placement.cpu === undefined
      ? spawn(command, args, options)
      : spawn('taskset', ['-c', String(placement.cpu), command, ...args], options);
  stopAtExit(child);
  return child;
}

/**
 * The bench's children still running. A runner that ends without its `finally` (an uncaught error, its stdout
 * closed by `| head`, Ctrl-C) stops them too: a gateway, whose stdin is not a pipe, would otherwise outlive it.
 */
const running = new Set<ChildProcess>();
let hooked = false;

function stopAtExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGTERM');
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** A process that prints its port as the first stdout line and exits when stdin closes (upstream, floor, Go peer). */
export async function startPortPrinter(
  placement: Placement,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<BenchProcess> {
  const child = spawnPinned(placement, command, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}`)));
  });
  return { pid: child.pid as number, origin: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

/** node flags that let this Node run a TypeScript file: none where it strips types itself (Node 23.6+). */
export function typescriptFlags(): string[] {
  return (process.features as { typescript?: unknown }).typescript ? [] : ['--import', 'tsx'];
}

/** The upstream in its own process. */
export function startUpstream(placement: Placement): Promise<BenchProcess> {
  return startPortPrinter(placement, process.execPath, ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')]);
}

export interface GatewayOptions extends Placement {
  readonly upstreamOrigin: string;
  readonly workers: number;
  readonly token: string;
  /** A second token, limited to `namespace="team-a"` (the PromQL rows, the limited write rows). */
  readonly limitedToken: string;
  /** A third token with explicit full access (`namespace = ".*"`): the writes it sends pass through undecoded. */
  readonly fullAccessToken?: string;
  /** Extra node flags for the gateway process (e.g. `--cpu-prof`). */
  readonly nodeArgs: readonly string[];
  readonly logLevel: string;
  /** Another checkout of scopegate to run instead of this one (built: its dist/ newer than its src/). */
  readonly checkout?: string;
  /** Environment on top of the runner's (e.g. the glibc heap variables, to compare with and without). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** TOML lines appended to the config (e.g. a `[limits]` section). */
  readonly extraToml?: readonly string[];
}

/**
 * The real CLI (`scopegate serve`) from a temp TOML config, static tokens from the environment, a type "raw"
 * upstream for every Host (the cheapest route through the full pipeline: auth, tenant, routing, headers,
 * streaming, access log, metrics) and a type "prometheus" one on Host prom.bench. Its log goes to /dev/null:
 * writing it is measured, reading it is not.
 */
export async function startGateway(options: GatewayOptions): Promise<BenchProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-bench-'));
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const configPath = join(dir, 'scopegate.toml');
  await writeFile(
    configPath,
    [
      `log_level = "${options.logLevel}"`,
      'backend_type = "env"',
      '[proxy]',
      `listen = "127.0.0.1:${proxyPort}"`,
      `workers = ${options.workers}`,
      'shutdown_timeout = "5s"',
      '[[proxy.upstreams]]',
      'match = ".*"',
      `upstream = "${options.upstreamOrigin}"`,
      'type = "raw"',
      // The same upstream behind PromQL enforcement, for the `promql` rows (Host prom.bench).
      '[[proxy.upstreams]]',
      'match = "prom\\\\.bench"',
      'priority = 10',
      `upstream = "${options.upstreamOrigin}"`,
      'type = "prometheus"',
      'allow_write = true',
      // Writes (bench/write-scenarios.ts): remote write with inject mode, Loki push, Tempo OTLP.
      '[[proxy.upstreams]]',
      'match = "inject\\\\.bench"',
      'priority = 10',
      `upstream = "${options.upstreamOrigin}"`,
      'type = "prometheus"',
      'allow_write = true',
      'inject_labels_on_write = true',
      '[[proxy.upstreams]]',
      'match = "loki\\\\.bench"',
      'priority = 10',
      `upstream = "${options.upstreamOrigin}"`,
      'type = "loki"',
      '[[proxy.upstreams]]',
      'match = "tempo\\\\.bench"',
      'priority = 10',
      `upstream = "${options.upstreamOrigin}"`,
      'type = "tempo"',
      '[admin]',
      `listen = "127.0.0.1:${adminPort}"`,
      '',
      ...(options.extraToml ?? []),
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SCOPEGATE_TOKENS: JSON.stringify({
      [options.token]: { tenant: 'bench', name: 'bench' },
      [options.limitedToken]: { tenant: 'bench', name: 'bench-team-a', namespace: 'team-a' },
      ...(options.fullAccessToken ? { [options.fullAccessToken]: { tenant: 'bench', name: 'bench-full', namespace: '.*' } } : {}),
    }),
  };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawnPinned(
    options,
    process.execPath,
    [...options.nodeArgs, join(options.checkout ?? ROOT, 'bin/scopegate.js'), 'serve', '--config', configPath],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(`http://127.0.0.1:${adminPort}/ready`, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid as number, origin: `http://127.0.0.1:${proxyPort}`, stop };
}

export async function waitUntilReady(url: string, child: ChildProcess, init?: RequestInit): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(url, init);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not ready at ${url} (exit code ${child.exitCode})`);
}

/** SIGTERM, then SIGKILL after 10 s: the run always ends. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
