import cluster from 'node:cluster';
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createApp, type App } from '../app.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../core/clock.js';
import { answerAdminRequests } from '../server/cluster-ipc.js';
import { startClusterPrimary } from '../server/cluster.js';
import { startGateway, startProxyWorker, type ProxyListener } from '../server/gateway-server.js';

/**
 * `scopegate serve`: start, reload on SIGHUP or when the config file changes (a bad new config is logged and
 * the running one kept), drain and exit 0 on SIGTERM/SIGINT. With `proxy.workers > 1` this process becomes
 * the cluster primary (src/server/cluster.ts) and each worker runs this same function as a proxy listener.
 */
export async function serve(configPath: string): Promise<void> {
  try {
    await start(configPath);
  } catch (error) {
    // Parts that do not know the file's name report the source `config`: name the file.
    throw error instanceof ConfigError ? error.withSource(configPath) : error;
  }
}

async function start(configPath: string): Promise<void> {
  const config = await loadConfigFile(configPath);
  const baseLogger = createLogger({ level: config.log_level });
  if (cluster.isPrimary && config.proxy.workers > 1) {
    const primary = await startClusterPrimary({ config, logger: baseLogger });
    onSignals({ reload: () => primary.reload(), stop: () => primary.shutdown(), watchPath: configPath, logger: baseLogger });
    return;
  }

  const logger = cluster.isWorker ? baseLogger.child({ worker: cluster.worker?.id }) : baseLogger;
  let accepting = true;
  let gateway: ProxyListener;
  if (cluster.isWorker) {
    gateway = await startProxyWorker(config, {
      logger,
      createApp: (c, previous: App | undefined) => createApp(c, { logger, clock: systemClock, previous }),
    });
    answerAdminRequests(gateway, () => accepting);
  } else {
    gateway = await startGateway(config, {
      logger,
      createApp: (c, previous: App | undefined) => createApp(c, { logger, clock: systemClock, previous }),
    });
  }

  let reloading: Promise<void> = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      try {
        await gateway.reload(await loadConfigFile(configPath));
      } catch (error) {
        logger.error({ err: error }, 'new configuration rejected: keeping the current one');
      }
    });
  };
  const stop = async () => {
    accepting = false;
    await gateway.shutdown();
    return 0;
  };
  // A worker's primary watches the file and forwards SIGHUP; a worker whose primary is gone stops.
  if (cluster.isWorker) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  onSignals({ reload, stop, watchPath: cluster.isWorker ? undefined : configPath, logger });
}

interface SignalHandlers {
  readonly reload: () => void;
  /** Resolves with the exit code. */
  readonly stop: () => Promise<number>;
  /** The config file to watch (editors and ConfigMaps replace it, so the directory is watched). */
  readonly watchPath: string | undefined;
  readonly logger: ReturnType<typeof createLogger>;
}

function onSignals({ reload, stop, watchPath, logger }: SignalHandlers): void {
  const reloadFor = (reason: string) => {
    logger.info({ reason }, 'reloading configuration');
    reload();
  };
  process.on('SIGHUP', () => reloadFor('SIGHUP'));
  let debounce: NodeJS.Timeout | undefined;
  const watcher = watchPath
    ? watch(dirname(watchPath), (_event, file) => {
        if (file !== null && file !== basename(watchPath) && file !== '..data') return;
        clearTimeout(debounce);
        debounce = setTimeout(() => reloadFor('config file changed'), 200);
      })
    : undefined;
  watcher?.unref();

  let stopping = false;
  const onStop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    watcher?.close();
    stop().then(
      (code) => process.exit(code),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
}
