import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestTracer } from '../observability/tracing.js';
import { runPipeline, type PipelineDeps } from './pipeline.js';
import type { DecisionRecorder } from './record-decision.js';
import { recordRequest } from './record-request.js';
import { createRequestContext } from './request-context.js';
import { sendError } from './send-error.js';
import { drainUnreadBody } from './unread-body.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The proxy listener's handler: one context per request, the pipeline, the one error handler, and when the
 * response closes one access-log line and the metrics. Never throws: the gateway stays up whatever a request does.
 */
export function createProxyHandler(
  deps: PipelineDeps,
  log: Logger,
  metrics: GatewayMetrics,
  tracer: RequestTracer,
  decisions?: DecisionRecorder,
): RequestHandler {
  return (req, res) => {
    const ctx = createRequestContext(req, res, log, tracer);
    // Bytes this response writes on the socket (keep-alive: counted from where the previous one ended). The
    // socket is held here: undici clears `req.socket` when it abandons a body streamed from this request.
    const socket = req.socket;
    const bytesBefore = decisions === undefined ? 0 : socket.bytesWritten;
    // The request's one listener on `res` ('close' is emitted once); the answer carries X-Request-Id
    // (forward.ts, send-error.ts).
    res.on('close', () => {
      ctx.clientClosed();
      const status = res.writableFinished ? res.statusCode : 499;
      recordRequest(ctx, req.method ?? 'GET', status, log, metrics);
      decisions?.record(ctx, req.method ?? 'GET', status, socket.bytesWritten - bytesBefore);
    });
    runPipeline(req, res, ctx, deps, async (error: unknown) => {
      // An answer sent before the body was read either follows a drained body (the connection stays usable)
      // or says `Connection: close` and closes: never keep-alive advertised and then a reset.
      if (!res.headersSent && !(await drainUnreadBody(req, error))) res.setHeader('connection', 'close');
      sendError(res, error, ctx);
    });
  };
}
