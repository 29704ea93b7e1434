import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { ReadinessCheck } from '../core/readiness.js';
import type { GatewayMetrics } from '../observability/metrics.js';

/**
 * What the listeners need of an app (app.ts's `App` is one): its handlers, readiness and life cycle. The
 * listeners are handed a factory instead of importing app.ts, so server/ stays below the composition root.
 */
export interface ServedApp {
  readonly config: Config;
  readonly metrics: GatewayMetrics;
  readonly handleProxy: (req: IncomingMessage, res: ServerResponse) => void;
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly handleAdmin: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly readiness: readonly ReadinessCheck[];
  /** First loads (token set, keys, credentials); resolves after the first attempt, even a failed one. */
  start(): Promise<void>;
  /** Stops background work and closes pools once their in-flight requests are done. */
  close(): Promise<void>;
  /** Set by the server while it drains; /ready then answers 503. */
  setAccepting(accepting: boolean): void;
}

export interface ListenerDeps<A extends ServedApp> {
  readonly logger: Logger;
  /** Builds an app from a config (app.ts's `createApp`); `previous` is the app it replaces on reload. */
  createApp(config: Config, previous: A | undefined): Promise<A>;
}
