import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** What one request carries through the pipeline, and what its access-log line reports. */
export interface RequestContext {
  readonly id: string;
  readonly startNs: bigint;
  readonly log: Logger;
  /** Fires when the client goes away before the response is complete. */
  readonly signal: AbortSignal;
  subject?: string;
  authenticator?: string;
  tenant?: string;
  upstream?: string;
  endpoint?: string;
  errorCode?: string;
  /** The path as routed, for Prometheus-style error bodies and the access log. */
  path?: string;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function createRequestContext(req: IncomingMessage, res: ServerResponse, log: Logger): RequestContext {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return { id, startNs: process.hrtime.bigint(), log, signal: controller.signal };
}
