import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { formatListenAddress } from '../config/listen.js';
import { ConfigError } from '../config/load.js';
import { createAdminHandler } from './admin-server.js';
import { createWorkerAsker } from './cluster-ipc.js';
import { missingGlibcHeapEnv } from './glibc-heap.js';
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
  const workerCount = config.proxy.workers;
  if (formatListenAddress(config.proxy.listen) === formatListenAddress(config.admin.listen)) {
    throw new ConfigError('config', ['admin.listen: must differ from proxy.listen when proxy.workers > 1 (the primary serves the admin port)']);
  }
  const maxRestarts = options.maxRestarts ?? 5;
  const restartWindowMs = options.restartWindowMs ?? 60_000;
  const restartDelayMs = options.restartDelayMs ?? 1_000;

  const live = new Set<Worker>();
  const listening = new Set<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let allExited: (() => void) | undefined;
  let exitCode = 0;

  const registry = new Registry();
  const restartCounter = new Counter({
    name: 'scopegate_cluster_worker_restarts_total',
    help: 'Workers restarted by the cluster primary after a crash.',
    registers: [registry],
  });

  const fork = () => {
    // Workers are new processes: glibc reads its heap settings at their start (glibc-heap.ts).
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
      return;
    }
    if (!crashed) {
      log.warn({ worker: worker.id }, 'worker exited on its own');
      return;
    }
    const now = Date.now();
    while (restarts.length > 0 && (restarts[0] as number) <= now - restartWindowMs) restarts.shift();
    if (restarts.length >= maxRestarts) {
      log.fatal({ worker: worker.id, code, signal, restarts: restarts.length }, 'workers keep crashing: giving up');
      exitCode = 1;
      void primary.shutdown().then((codeAfter) => process.exit(codeAfter));
      return;
    }
    restarts.push(now);
    restartCounter.inc();
    log.error({ worker: worker.id, code, signal }, 'worker crashed: restarting');
    setTimeout(() => {
      if (!stopping) fork();
    }, restartDelayMs).unref();
  };

  const ask = createWorkerAsker();
  const workers = () => [...live];
  const admin = createAdminHandler({
    registry: {
      contentType: registry.contentType,
      async metrics() {
        const replies = await Promise.all(workers().map((w) => ask(w, 'metrics', ASK_TIMEOUT_MS)));
        const perWorker = replies.flatMap((reply) => (reply?.metrics ? [reply.metrics] : []));
        return AggregatorRegistry.aggregate([...perWorker, await registry.getMetricsAsJSON()]).metrics();
      },
    },
    readiness: () => clusterReadiness(),
    isAccepting: () => !stopping,
  });
  const clusterReadiness = async (): Promise<ReadinessCheck[]> => {
    const checks: ReadinessCheck[] = [];
    const up = listening.size;
    if (up < workerCount) checks.push(notReady('workers', `${up} of ${workerCount} workers listening`));
    const current = workers();
    const replies = await Promise.all(current.map((w) => ask(w, 'readiness', ASK_TIMEOUT_MS)));
    replies.forEach((reply, i) => {
      const name = `worker-${current[i]?.id}`;
      if (reply === undefined) checks.push(notReady(name, 'did not answer'));
      for (const [check, reason] of Object.entries(reply?.reasons ?? {})) checks.push(notReady(`${name}.${check}`, reason));
    });
    return checks;
  };
  const adminServer = createServer((req, res) => {
    admin(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await listen(adminServer, config.admin.listen.host, config.admin.listen.port);

  for (let i = 0; i < workerCount; i++) fork();
  log.info({ workers: workerCount, proxy: config.proxy.listen, admin: adminServer.address() }, 'scopegate cluster primary started');

  const primary: ClusterPrimary = {
    reload() {
      for (const worker of workers()) worker.process.kill('SIGHUP');
    },
    async shutdown() {
      if (stopping) return exitCode;
      stopping = true;
      log.info({ workers: workers().length }, 'shutting down: draining workers');
      const exited = workers().length === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allExited = resolve));
      for (const worker of workers()) worker.process.kill('SIGTERM');
      // Workers bound their own drain by shutdown_timeout; this only catches one that hangs past it.
      const force = setTimeout(() => {
        log.error('workers did not exit after the shutdown timeout: killing them');
        exitCode = 1;
        for (const worker of workers()) worker.process.kill('SIGKILL');
      }, config.proxy.shutdown_timeout + 5_000);
      await exited;
      clearTimeout(force);
      adminServer.closeAllConnections();
      await new Promise<void>((resolve) => adminServer.close(() => resolve()));
      log.info({ exitCode }, 'cluster shutdown complete');
      return exitCode;
    },
  };
  return primary;
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
