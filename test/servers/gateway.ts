import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { startGateway, type GatewayServer } from '../../src/server/gateway-server.js';
import type { HostResolver } from '../../src/upstream/balancer/dns-discovery.js';

export interface StartedGateway {
  readonly url: string;
  readonly adminUrl: string;
  readonly server: GatewayServer;
  /** Every log line the gateway wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * Starts a real gateway on 127.0.0.1:0 (proxy and admin) from a config object, as `serve` would from a file.
 * Listen addresses are forced to loopback port 0 unless the config sets `admin.listen` equal to the proxy's.
 * Process metrics (prom-client's default collectors) are off unless `collectProcessMetrics` asks for them.
 */
export async function startTestGateway(
  raw: Record<string, unknown>,
  options: { clock?: Clock; collectProcessMetrics?: boolean; presetFor?: AppDeps['presetFor']; resolveHost?: HostResolver } = {},
): Promise<StartedGateway> {
  const proxy = { listen: '127.0.0.1:0', shutdown_timeout: '5s', ...(raw.proxy as Record<string, unknown>) };
  const config = parseConfig({ log_level: 'info', admin: { listen: '127.0.0.1:0' }, ...raw, proxy });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: config.log_level, destination });
  const appDeps: AppDeps = {
    logger,
    clock: options.clock ?? systemClock,
    collectProcessMetrics: options.collectProcessMetrics ?? false,
    ...(options.presetFor ? { presetFor: options.presetFor } : {}),
    ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
  };
  const server = await startGateway(config, {
    logger,
    createApp: (c, previous: App | undefined) => createApp(c, { ...appDeps, previous }),
  });
  return {
    url: `http://127.0.0.1:${server.proxyAddress.port}`,
    adminUrl: `http://127.0.0.1:${server.adminAddress.port}`,
    server,
    logs,
    stop: () => server.shutdown(),
  };
}
