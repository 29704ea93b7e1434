import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { formatListenAddress } from '../config/listen.js';
import { ConfigError, configErrorAt } from '../config/load.js';
import { findKeyPairProblem, readPemFile } from '../upstream/tls.js';
import { ADMIN_PATHS } from './admin-handler.js';
import { LINGER_MS, type ProxyConnections, trackProxyConnections } from './connections.js';
import { isFramingSound } from './request-framing.js';
import type { ListenerDeps, ServedApp } from './served-app.js';

/** The proxy listener and the current app; what a cluster worker runs (the primary serves the admin port). */
export interface ProxyListener<A extends ServedApp = ServedApp> {
  readonly proxyAddress: AddressInfo;
  current(): A;
  /** Builds a whole new app from `config` and swaps it in only if that worked; the old one drains. */
  reload(config: Config): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish up to `proxy.shutdown_timeout`, then closes. */
  shutdown(): Promise<void>;
}

export interface GatewayServer<A extends ServedApp = ServedApp> extends ProxyListener<A> {
  readonly adminAddress: AddressInfo;
}

/**
 * Owns the listeners. Requests are handed to whichever app is current, so a reload swaps the config between
 * two requests without closing a connection; the old app's pools close once their requests are done.
 */
export async function startGateway<A extends ServedApp>(config: Config, deps: ListenerDeps<A>): Promise<GatewayServer<A>> {
  const server = await startListeners(config, deps, true);
  return server as GatewayServer<A>;
}

/**
 * A cluster worker: the proxy listener only (on the port the workers share). The admin port is the
 * primary's (src/server/cluster.ts); a config that puts admin on the proxy port is refused before this.
 */
export function startProxyWorker<A extends ServedApp>(config: Config, deps: ListenerDeps<A>): Promise<ProxyListener<A>> {
  return startListeners(config, deps, false);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What a reload may replace: the app that answers, and the listener's certificate. */
interface Current<A extends ServedApp> {
  app: A;
  tls: HttpsOptions | undefined;
}

async function startListeners<A extends ServedApp>(
  config: Config,
  deps: ListenerDeps<A>,
  withAdmin: boolean,
): Promise<ProxyListener<A> & { adminAddress?: AddressInfo }> {
  const log = deps.logger;
  // The listener's certificate is read before anything starts: a missing file fails the start.
  const tls = listenerTlsOptions(config);
  const current: Current<A> = { tls, app: await deps.createApp(config, undefined) };
  await current.app.start();

  const shared = adminSharesProxyListener(config);
  const serveAdmin = adminHandler(current, log);
  const { proxyServer, httpsServer, connections } = createProxyServer(current, shared ? serveAdmin : undefined);
  const adminServer = shared || !withAdmin ? undefined : createServer(serveAdmin);
  await listenOrClose(config, proxyServer, adminServer, current.app);
  const proxyAddress = proxyServer.address() as AddressInfo;
  const adminAddress = withAdmin ? ((adminServer ?? proxyServer).address() as AddressInfo) : undefined;
  log.info({ proxy: proxyAddress, admin: adminAddress, upstreams: config.proxy.upstreams.length }, 'scopegate listening');

  return {
    proxyAddress,
    ...(adminAddress ? { adminAddress } : {}),
    current: () => current.app,
    reload: (next) => reload(next, config, current, deps, httpsServer),
    shutdown: () => drainAndClose(current, proxyServer, adminServer, connections, log),
  };
}

/** Port 0 asks for any free port: two such listeners are two ports, never one shared listener. */
function adminSharesProxyListener(config: Config): boolean {
  return config.admin.listen.port !== 0 && formatListenAddress(config.proxy.listen) === formatListenAddress(config.admin.listen);
}

function adminHandler(current: Current<ServedApp>, log: Logger): Handler {
  return (req, res) => {
    current.app.handleAdmin(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}

/** The proxy listener (HTTPS with `proxy.tls`); with `serveAdmin`, the admin paths are answered on it too. */
function createProxyServer(current: Current<ServedApp>, serveAdmin: Handler | undefined) {
  const handleProxy: Handler = (req, res) => {
    if (!connections.admit(req, res)) return;
    // Unsound framing ends the connection: mark it now, before Node hands over what followed on the wire
    // (the pipeline answers the error itself).
    if (!isFramingSound(req)) connections.closeAfter(res);
    if (serveAdmin && ADMIN_PATHS.has((req.url ?? '').split('?')[0] ?? '')) return serveAdmin(req, res);
    current.app.handleProxy(req, res);
  };
  const httpsServer = current.tls ? createListenerTlsServer(current.tls, handleProxy) : undefined;
  const proxyServer: Server = httpsServer ?? createServer(handleProxy);
  const connections = trackProxyConnections(proxyServer);
  // Longer than the usual load-balancer idle timeout, so the balancer closes first (no reset races).
  proxyServer.keepAliveTimeout = 65_000;
  proxyServer.headersTimeout = 66_000;
  proxyServer.requestTimeout = 0; // streamed bodies may take long; upstream timeouts bound the wait.
  proxyServer.on('upgrade', (req, socket, head) => current.app.handleUpgrade(req, socket, head));
  proxyServer.on('clientError', answerUnparsable);
  return { proxyServer, httpsServer, connections };
}

/**
 * Node's parser refused the bytes (bad framing, header overflow): answer 400 and close. The close lingers as
 * after any last answer (connections.ts), but never longer than LINGER_MS: this client may never close.
 */
function answerUnparsable(_error: Error, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

async function listenOrClose(config: Config, proxyServer: Server, adminServer: Server | undefined, app: ServedApp): Promise<void> {
  try {
    await listen(proxyServer, config.proxy.listen, 'proxy.listen');
    if (adminServer) await listen(adminServer, config.admin.listen, 'admin.listen');
  } catch (error) {
    proxyServer.close();
    await app.close();
    throw error;
  }
}

/**
 * Builds the app of `next` and swaps it in if it started and is no less ready than the current one; the
 * listen addresses stay those of `started` (the config the listeners were started with).
 */
async function reload<A extends ServedApp>(
  next: Config,
  started: Config,
  current: Current<A>,
  deps: ListenerDeps<A>,
  httpsServer: HttpsServer | undefined,
): Promise<boolean> {
  const log = deps.logger;
  let candidate: A;
  let nextTls: HttpsOptions | undefined;
  try {
    nextTls = listenerTlsOptions(next);
    candidate = await deps.createApp(next, current.app);
    await candidate.start();
  } catch (error) {
    log.error({ err: error }, 'reload failed: keeping the current configuration');
    return false;
  }
  if (isLessReady(candidate, current.app, log)) return false;
  if (formatListenAddress(next.proxy.listen) !== formatListenAddress(started.proxy.listen)) {
    log.warn('listen addresses change only on restart; the new upstreams and auth apply now');
  }
  reloadListenerTls(nextTls, current, httpsServer, log);
  const previous = current.app;
  current.app = candidate;
  log.info({ upstreams: next.proxy.upstreams.length }, 'configuration reloaded');
  void previous.close().catch((error: unknown) => log.warn({ err: error }, 'closing the previous configuration failed'));
  return true;
}

/**
 * A new app whose first load failed (secret store down, keys unreachable) would swap a working token set for
 * none; it is refused (and closed) unless the current one is no better.
 */
function isLessReady(candidate: ServedApp, app: ServedApp, log: Logger): boolean {
  const notReady = notReadyReasons(candidate);
  if (notReady.length === 0 || notReadyReasons(app).length > 0) return false;
  log.error({ reasons: notReady }, 'reload failed: the new configuration is not ready; keeping the current configuration');
  void candidate.close().catch((error: unknown) => log.warn({ err: error }, 'closing the refused configuration failed'));
  return true;
}

/** New certificates apply to the running HTTPS listener; turning TLS or client certificates on or off does not. */
function reloadListenerTls(
  nextTls: HttpsOptions | undefined,
  current: Current<ServedApp>,
  httpsServer: HttpsServer | undefined,
  log: Logger,
): void {
  const listenerTls = current.tls;
  if ((nextTls === undefined) !== (listenerTls === undefined) || Boolean(nextTls?.requestCert) !== Boolean(listenerTls?.requestCert)) {
    log.warn('turning TLS or client certificates on or off takes a restart; certificates themselves are reloaded');
  } else if (nextTls !== undefined && httpsServer !== undefined) {
    httpsServer.setSecureContext(nextTls);
    current.tls = nextTls;
    log.info('listener certificate reloaded');
  }
}

/** Stops accepting, lets in-flight requests finish up to `proxy.shutdown_timeout`, then closes. */
async function drainAndClose(
  current: Current<ServedApp>,
  proxyServer: Server,
  adminServer: Server | undefined,
  connections: ProxyConnections,
  log: Logger,
): Promise<void> {
  current.app.setAccepting(false);
  log.info({ inFlight: connections.inFlight }, 'shutting down: no new connections, draining requests');
  const closed = Promise.all([closeServer(proxyServer), adminServer ? closeServer(adminServer) : undefined]);
  connections.beginShutdown();
  const deadline = Date.now() + current.app.config.proxy.shutdown_timeout;
  if ((await raceDeadline(connections.drained(), deadline)) === 'timeout') {
    log.warn({ inFlight: connections.inFlight }, 'shutdown timeout: closing remaining connections');
  } else {
    // Each last answer is out; its connection lingers until the client closes (bounded by LINGER_MS).
    await raceDeadline(closed, Math.min(deadline, Date.now() + LINGER_MS));
  }
  proxyServer.closeAllConnections();
  adminServer?.closeAllConnections();
  await closed;
  await current.app.close();
  log.info('shutdown complete');
}

function notReadyReasons(app: ServedApp): string[] {
  return app.readiness.map((check) => check.notReadyReason()).filter((reason): reason is string => reason !== undefined);
}

/** `proxy.tls` as https options: certificate and key, and with `client_ca_file` required client certificates. */
function listenerTlsOptions(config: Config): HttpsOptions | undefined {
  const tls = config.proxy.tls;
  if (tls === undefined) return undefined;
  const cert = readPemFile(tls.cert_file, 'proxy.tls.cert_file', 'cert');
  const key = readPemFile(tls.key_file, 'proxy.tls.key_file', 'key');
  const mismatch = findKeyPairProblem(cert, key);
  if (mismatch !== undefined) throw new ConfigError('config', [`proxy.tls.key_file: ${tls.key_file}: ${mismatch}`]);
  return {
    cert,
    key,
    ...(tls.client_ca_file !== undefined
      ? { ca: readPemFile(tls.client_ca_file, 'proxy.tls.client_ca_file', 'ca'), requestCert: true, rejectUnauthorized: true }
      : {}),
  };
}

const LISTEN_HINTS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use: stop the process that listens there, or choose another port',
  EACCES: 'permission denied: ports below 1024 need privileges; choose a port of 1024 or more',
  EADDRNOTAVAIL: 'the host is not an address of this machine: use one of its addresses, or 0.0.0.0',
};

/** Listens, or fails with a ConfigError naming the key, the address and what to do (one line at start-up). */
function listen(server: NetServer, address: { host: string; port: number }, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const what = (error.code !== undefined ? LISTEN_HINTS[error.code] : undefined) ?? error.message;
      reject(
        new ConfigError('config', [
          `${key}: cannot listen on ${formatListenAddress(address)}: ${error.code ? `${error.code}: ` : ''}${what}`,
        ]),
      );
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Node parses the PEM here: a file that is not a certificate or key (or a pair that does not match) is named. */
function createListenerTlsServer(options: HttpsOptions, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  try {
    return createHttpsServer(options, handle);
  } catch (error) {
    throw configErrorAt('proxy.tls', error);
  }
}

function raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), 'timeout');
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
