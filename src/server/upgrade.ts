import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { HttpError, NotFound } from '../core/http-errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestTracer } from '../observability/tracing.js';
import { buildOutgoingRequest } from '../upstream/outgoing-request.js';
import { classifyUpstreamError } from '../upstream/upstream-errors.js';
import { prepareRequest, type PipelineDeps } from './pipeline.js';
import type { DecisionRecorder } from './record-decision.js';
import { recordRequest } from './record-request.js';
import { createRequestContext, type RequestContext } from './request-context.js';
import { sendError } from './send-error.js';
import { upstreamFault } from './upstream-fault.js';

/**
 * WebSocket upgrades (Loki's /loki/api/v1/tail): the same pipeline as any request — authenticate, route,
 * authorise, enforce the query — then the upgrade leaves through the same outgoing-request builder and pool
 * (so it is signed and carries X-Forwarded-* like any request) and the two sockets are joined. Only endpoints
 * marked `websocket` may upgrade. A refusal is answered by send-error.ts, as for a plain request.
 */
export function createUpgradeHandler(
  deps: PipelineDeps,
  log: Logger,
  metrics: GatewayMetrics,
  tracer: RequestTracer,
  decisions?: DecisionRecorder,
) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // The same context as a plain request's (a client's safe X-Request-Id kept), bound to the socket.
    const ctx = createRequestContext(req, socket, log, tracer);
    socket.once('close', () => ctx.clientClosed());
    socket.on('error', () => socket.destroy());
    const method = req.method ?? 'GET';
    tunnel(req, socket, head, ctx, deps).then(
      (status) => {
        recordRequest(ctx, method, status, log, metrics, true);
        decisions?.record(ctx, method, status, undefined);
      },
      (error: unknown) => {
        const status = refuseUpgrade(req, socket, error, ctx);
        recordRequest(ctx, method, status, log, metrics, true);
        decisions?.record(ctx, method, status, undefined);
      },
    );
  };
}

async function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: RequestContext, deps: PipelineDeps): Promise<number> {
  const { upstream, endpoint, request, enforce } = await prepareRequest(req, ctx, deps);
  if (!endpoint.websocket) throw new NotFound('upgrade_not_supported', `${endpoint.name} does not accept WebSocket upgrades`);
  const destination = upstream.destination(endpoint.component);
  const path = buildOutgoingRequest(upstream, destination, request, enforce.tenants, req, ctx);
  let upgraded;
  try {
    upgraded = await destination.dispatcher.upgrade({
      path,
      method: 'GET',
      headers: request.headers,
      protocol: 'websocket',
      signal: ctx.signal,
    });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw upstreamFault(classifyUpstreamError(error), upstream.name, error, ctx, deps);
  }
  const lines = ['HTTP/1.1 101 Switching Protocols', 'connection: Upgrade', 'upgrade: websocket'];
  for (const [name, value] of Object.entries(upgraded.headers)) {
    if (name === 'connection' || name === 'upgrade' || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const upstreamSocket = upgraded.socket;
  if (head.length > 0) upstreamSocket.write(head);
  upstreamSocket.on('error', () => socket.destroy());
  socket.on('close', () => upstreamSocket.destroy());
  upstreamSocket.on('close', () => socket.destroy());
  socket.pipe(upstreamSocket);
  upstreamSocket.pipe(socket);
  return 101;
}

/**
 * Answers a refused upgrade with the one error writer (send-error.ts) on a response bound to the client's
 * socket, then closes the connection. Returns the status, for the access log.
 */
function refuseUpgrade(req: IncomingMessage, socket: Duplex, error: unknown, ctx: RequestContext): number {
  const status = error instanceof HttpError ? error.status : 500;
  if (!socket.writable) {
    ctx.errorCode = error instanceof HttpError ? error.code : 'internal_error';
    socket.destroy();
    return status;
  }
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
  res.once('finish', () => socket.end());
  sendError(res, error, ctx);
  return status;
}
