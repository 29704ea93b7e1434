import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../server/clock.js';
import { startGateway } from '../server/gateway-server.js';

/**
 * `scopegate serve`: start, reload on SIGHUP or when the config file changes (a bad new config is logged and
 * the running one kept), drain and exit 0 on SIGTERM/SIGINT.
 */
export async function serve(configPath: string): Promise<void> {
  const config = await loadConfigFile(configPath);
  const logger = createLogger({ level: config.log_level });
  const gateway = await startGateway(config, { logger, clock: systemClock });

  let reloading: Promise<void> = Promise.resolve();
  const reload = (reason: string) => {
    reloading = reloading.then(async () => {
      logger.info({ reason }, 'reloading configuration');
      try {
        await gateway.reload(await loadConfigFile(configPath));
      } catch (error) {
        logger.error({ err: error }, 'new configuration rejected: keeping the current one');
      }
    });
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  let debounce: NodeJS.Timeout | undefined;
  // Editors and Kubernetes ConfigMaps replace the file (rename), so watch the directory.
  const watcher = watch(dirname(configPath), (_event, file) => {
    if (file !== null && file !== basename(configPath) && file !== '..data') return;
    clearTimeout(debounce);
    debounce = setTimeout(() => reload('config file changed'), 200);
  });
  watcher.unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    watcher.close();
    gateway.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
