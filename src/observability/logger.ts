import { pino, type Logger, type DestinationStream } from 'pino';
import { batchedDestination } from './log-destination.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * Paths pino removes before a line is written. Credentials must never reach a log, even when a
 * developer logs a whole header map at debug level.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-forwarded-access-token"]',
  'req.headers["x-auth-request-access-token"]',
  'req.headers.token',
  'req.headers["x-id-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'token',
  'password',
  'secret',
];

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  readonly destination?: DestinationStream;
}

/**
 * The process's logger, made once by the CLI and handed to createApp (which makes children of it, never another
 * logger). Without a destination it writes to stdout, batched (log-destination.ts).
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'scopegate' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: createIsoTimeOncePerMs(),
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? batchedDestination(1),
  );
}

/**
 * pino.stdTimeFunctions.isoTime formats a Date for every line (~2% of the gateway's CPU under load); lines of
 * the same millisecond share one string. Same output.
 */
function createIsoTimeOncePerMs(): () => string {
  let formattedMs = -1;
  let formatted = '';
  return () => {
    const now = Date.now();
    if (now !== formattedMs) {
      formattedMs = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

export type { Logger };
