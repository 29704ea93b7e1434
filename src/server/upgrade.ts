import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestTracer } from '../observability/tracing.js';
import { encodePath } from '../routing/request-path.js';
import { classifyUpstreamError, toUpstreamHttpError } from '../upstream/upstream-errors.js';
import { HttpError, NotFound } from '../core/http-errors.js';
import { prepareRequest, type PipelineDeps } from './pipeline.js';
import type { RequestContext } from './request-context.js';

/**
 * WebSocket upgrades (Loki's /loki/api/v1/tail): the same pipeline as any request — authenticate, route,
 * authorise, enforce the query — then the upgrade is sent to the upstream with the rewritten URL and the two
 * sockets are joined. Only endpoints marked `websocket` may upgrade; anything else is refused.
 */
export function createUpgradeHandler(deps: PipelineDeps, log: Logger, metrics: GatewayMetrics, tracer: RequestTracer) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const controller = new AbortController();
    socket.once('close', () => controller.abort(new Error('client closed the connection')));
    const traceparent = typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined;
    const ctx: RequestContext = { id: randomUUID(), startNs: process.hrtime.bigint(), log, signal: controller.signal, trace: tracer.start(traceparent) };
    socket.on('error', () => socket.destroy());
    tunnel(req, socket, head, ctx, deps).then(
      (status) => record(ctx, status, log, metrics),
      (error: unknown) => {
        const status = writeUpgradeError(socket, error, ctx);
        record(ctx, status, log, metrics);
      },
    );
  };
}

async function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: RequestContext, deps: PipelineDeps): Promise<number> {
  const { upstream, endpoint, request, enforce } = await prepareRequest(req, ctx, deps);
  if (!endpoint.websocket) throw new NotFound('upgrade_not_supported', `${endpoint.name} does not accept WebSocket upgrades`);
  const destination = upstream.destination(endpoint.component);
  const headers = { ...request.headers, [upstream.tenantHeader]: enforce.tenants.join('|'), 'x-request-id': ctx.id, traceparent: ctx.trace.traceparent };
  let upgraded;
  try {
    upgraded = await destination.dispatcher.upgrade({
      path: `${destination.basePath}${encodePath(request.path)}${request.query ? `?${request.query}` : ''}`,
      method: 'GET',
      headers,
      protocol: 'websocket',
      signal: ctx.signal,
    });
  } catch (error) {
    const kind = classifyUpstreamError(error);
    deps.onUpstreamError(upstream.name, kind);
    throw toUpstreamHttpError(kind, upstream.name);
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

function writeUpgradeError(socket: Duplex, error: unknown, ctx: RequestContext): number {
  const httpError = error instanceof HttpError ? error : undefined;
  if (!httpError) ctx.log.error({ err: error, requestId: ctx.id }, 'unhandled upgrade error');
  const status = httpError?.status ?? 500;
  ctx.errorCode = httpError?.code ?? 'internal_error';
  if (httpError?.decidedBy !== undefined) ctx.authenticator ??= httpError.decidedBy;
  const body = JSON.stringify({ status: 'error', code: ctx.errorCode, error: httpError?.message ?? 'internal error' });
  const extra = Object.entries(httpError?.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${status === 101 ? '' : 'Error'}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
  }
  return status;
}

function record(ctx: RequestContext, status: number, log: Logger, metrics: GatewayMetrics): void {
  const upstream = ctx.upstream ?? 'none';
  const endpoint = ctx.endpoint ?? 'none';
  metrics.requests.inc({ tenant: ctx.tenant ?? 'none', upstream, endpoint, code: String(status) });
  if (ctx.errorCode && status < 500) metrics.denials.inc({ code: ctx.errorCode });
  const line = { requestId: ctx.id, traceId: ctx.trace.traceId, path: ctx.path, status, tenant: ctx.tenant, subject: ctx.subject, authenticator: ctx.authenticator, upstream, endpoint, code: ctx.errorCode, websocket: true };
  log.info(line, 'request');
  ctx.trace.end('GET', { ...line, upstream: ctx.upstream, endpoint: ctx.endpoint });
}
