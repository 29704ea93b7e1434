import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { formatListenAddress } from '../config/listen.js';
import { ConfigError } from '../config/load.js';
import { createAdminHandler } from './admin-handler.js';
import { type AskWorker, createWorkerAsker } from './cluster-ipc.js';
import { missingGlibcHeapEnv } from './glibc-heap.js';
import { missingYoungGenerationArgs } from './v8-young-generation.js';
import type { ReadinessCheck } from '../core/readiness.js';

export interface ClusterOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Crashes tolerated per `restartWindowMs` before the primary gives up and exits 1. */
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  readonly restartDelayMs?: number;
}

export interface ClusterPrimary {
  /** Workers re-read the config file (each keeps its last good one if the new one is bad). */
  reload(): void;
  /** /ready turns 503, workers drain (SIGTERM); resolves with the exit code once all have exited. */
  shutdown(): Promise<number>;
}

const ASK_TIMEOUT_MS = 2_000;

/**
 * `proxy.workers > 1`: the primary forks that many workers, each running the proxy listener on the shared
 * port (node:cluster hands connections round-robin). The primary serves the admin port alone: /metrics sums
 * the workers' registries (prom-client `AggregatorRegistry.aggregate`), /ready is ready only when every
 * worker is listening and reports ready. A worker that crashes (non-zero exit or signal) is restarted
 * after a delay, at most `maxRestarts` times per window; a worker that exits 0 did so on purpose.
 */
export async function startClusterPrimary(options: ClusterOptions): Promise<ClusterPrimary> {
  const { config, logger: log } = options;
  requireOwnAdminListener(config);
  const registry = new Registry();
  const workers = superviseWorkers(options, registry, () => void primary.shutdown().then((code) => process.exit(code)));
  const adminServer = await serveAdmin(config, log, clusterAdminHandler(workers, registry, config.proxy.workers));
  workers.fork(config.proxy.workers);
  log.info(
    { workers: config.proxy.workers, proxy: config.proxy.listen, admin: adminServer.address() },
    'scopegate cluster primary started',
  );

  const primary: ClusterPrimary = {
    reload: () => workers.signal('SIGHUP'),
    async shutdown() {
      if (workers.stopping) return workers.exitCode;
      // Workers bound their own drain by shutdown_timeout; the extra 5 s only catches one that hangs past it.
      const exitCode = await workers.stop(config.proxy.shutdown_timeout + 5_000);
      await closeServer(adminServer);
      log.info({ exitCode }, 'cluster shutdown complete');
      return exitCode;
    },
  };
  return primary;
}

/** The primary serves the admin port alone, so it cannot be the port the workers share. */
function requireOwnAdminListener(config: Config): void {
  if (formatListenAddress(config.proxy.listen) === formatListenAddress(config.admin.listen)) {
    throw new ConfigError('config', [
      'admin.listen: must differ from proxy.listen when proxy.workers > 1 (the primary serves the admin port)',
    ]);
  }
}

/** The live workers: forks them, restarts the crashed ones within the budget, stops them all. */
interface WorkerSupervisor {
  /** True once `stop` was called. */
  readonly stopping: boolean;
  /** 1 once a worker crashed during the stop, was killed, or the restart budget ran out; else 0. */
  readonly exitCode: number;
  live(): Worker[];
  listeningCount(): number;
  fork(count: number): void;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM every worker, SIGKILL those left after `killAfterMs`; resolves with the exit code once all have exited. */
  stop(killAfterMs: number): Promise<number>;
}

function superviseWorkers(options: ClusterOptions, registry: Registry, giveUp: () => void): WorkerSupervisor {
  const log = options.logger;
  const maxRestarts = options.maxRestarts ?? 5;
  const restartWindowMs = options.restartWindowMs ?? 60_000;
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const live = new Set<Worker>();
  const listening = new Set<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let allExited: (() => void) | undefined;
  let exitCode = 0;
  const restartCounter = new Counter({
    name: 'scopegate_cluster_worker_restarts_total',
    help: 'Workers restarted by the cluster primary after a crash.',
    registers: [registry],
  });

  // Workers are new processes: V8 reads its heap flags (v8-young-generation.ts) and glibc its heap settings
  // (glibc-heap.ts, opt-in) at their start. Where `serve` re-executed itself, the primary has both already.
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...missingYoungGenerationArgs(process.execArgv, process.env)] });
  const forkOne = () => {
    const worker = cluster.fork(missingGlibcHeapEnv(process.env));
    live.add(worker);
    worker.once('listening', () => listening.add(worker));
    worker.once('exit', (code, signal) => onExit(worker, code, signal));
  };
  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    live.delete(worker);
    listening.delete(worker);
    const crashed = code !== 0 || signal !== null;
    if (stopping) {
      if (crashed) exitCode = 1;
      if (live.size === 0) allExited?.();
    } else if (!crashed) {
      log.warn({ worker: worker.id }, 'worker exited on its own');
    } else {
      restartAfterCrash(worker, code, signal);
    }
  };
  const restartAfterCrash = (worker: Worker, code: number | null, signal: string | null) => {
    const now = Date.now();
    while (restarts.length > 0 && (restarts[0] as number) <= now - restartWindowMs) restarts.shift();
    if (restarts.length >= maxRestarts) {
      log.fatal({ worker: worker.id, code, signal, restarts: restarts.length }, 'workers keep crashing: giving up');
      exitCode = 1;
      giveUp();
      return;
    }
    restarts.push(now);
    restartCounter.inc();
    log.error({ worker: worker.id, code, signal }, 'worker crashed: restarting');
    setTimeout(() => {
      if (!stopping) forkOne();
    }, restartDelayMs).unref();
  };
  const signalAll = (signal: NodeJS.Signals) => {
    for (const worker of [...live]) worker.process.kill(signal);
  };

  return {
    get stopping() {
      return stopping;
    },
    get exitCode() {
      return exitCode;
    },
    live: () => [...live],
    listeningCount: () => listening.size,
    fork(count) {
      for (let i = 0; i < count; i++) forkOne();
    },
    signal: signalAll,
    async stop(killAfterMs) {
      stopping = true;
      log.info({ workers: live.size }, 'shutting down: draining workers');
      const exited = live.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allExited = resolve));
      signalAll('SIGTERM');
      const force = setTimeout(() => {
        log.error('workers did not exit after the shutdown timeout: killing them');
        exitCode = 1;
        signalAll('SIGKILL');
      }, killAfterMs);
      await exited;
      clearTimeout(force);
      return exitCode;
    },
  };
}

/** /metrics sums the workers' registries and the primary's; /ready asks every worker. */
function clusterAdminHandler(workers: WorkerSupervisor, registry: Registry, workerCount: number) {
  const ask = createWorkerAsker();
  return createAdminHandler({
    registry: { contentType: registry.contentType, metrics: () => sumMetrics(workers, registry, ask) },
    readiness: () => clusterReadiness(workers, workerCount, ask),
    isAccepting: () => !workers.stopping,
  });
}

async function sumMetrics(workers: WorkerSupervisor, registry: Registry, ask: AskWorker): Promise<string> {
  const replies = await Promise.all(workers.live().map((w) => ask(w, 'metrics', ASK_TIMEOUT_MS)));
  const perWorker = replies.flatMap((reply) => (reply?.metrics ? [reply.metrics] : []));
  return AggregatorRegistry.aggregate([...perWorker, await registry.getMetricsAsJSON()]).metrics();
}

async function clusterReadiness(workers: WorkerSupervisor, workerCount: number, ask: AskWorker): Promise<ReadinessCheck[]> {
  const checks: ReadinessCheck[] = [];
  const up = workers.listeningCount();
  if (up < workerCount) checks.push(notReady('workers', `${up} of ${workerCount} workers listening`));
  const current = workers.live();
  const replies = await Promise.all(current.map((w) => ask(w, 'readiness', ASK_TIMEOUT_MS)));
  replies.forEach((reply, i) => {
    const name = `worker-${current[i]?.id}`;
    if (reply === undefined) checks.push(notReady(name, 'did not answer'));
    for (const [check, reason] of Object.entries(reply?.reasons ?? {})) checks.push(notReady(`${name}.${check}`, reason));
  });
  return checks;
}

async function serveAdmin(config: Config, log: Logger, admin: ReturnType<typeof createAdminHandler>): Promise<Server> {
  const adminServer = createServer((req, res) => {
    admin(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await listen(adminServer, config.admin.listen.host, config.admin.listen.port);
  return adminServer;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function notReady(name: string, reason: string): ReadinessCheck {
  return { name, notReadyReason: () => reason };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
