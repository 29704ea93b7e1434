import type { Logger } from 'pino';
import { writeAccessLine, type AccessLogLine } from '../observability/access-log.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestContext } from './request-context.js';

/**
 * The one access-log line and the metrics of a request, plain or upgraded, written once it is over (for a
 * WebSocket upgrade: once the tunnel is up or refused). Labels are bounded: tenant, upstream and endpoint
 * names, never a token or a raw path. A denial made before the tenant was resolved is counted under the
 * identity's tenant when it holds exactly one (pipeline.ts), else under `none`.
 */
export function recordRequest(
  ctx: RequestContext,
  method: string,
  status: number,
  log: Logger,
  metrics: GatewayMetrics,
  websocket = false,
): void {
  const durationSeconds = (performance.now() - ctx.startMs) / 1e3;
  const upstream = ctx.upstream ?? 'none';
  const endpoint = ctx.endpoint ?? 'none';
  metrics.recordRequest({ tenant: ctx.tenant ?? 'none', upstream, endpoint, code: status }, durationSeconds);
  if (ctx.errorCode && status >= 400 && status < 500) metrics.denials.inc({ code: ctx.errorCode });
  const level = status >= 500 ? 'warn' : 'info';
  const logged = log.isLevelEnabled(level);
  // Nothing is built for a line the log drops, unless the request's span records it.
  if (!logged && !ctx.trace.isRecording) return;
  const line: AccessLogLine = {
    requestId: ctx.id,
    traceId: ctx.trace.traceId,
    path: ctx.path,
    status,
    durationMs: Math.round(durationSeconds * 1e6) / 1e3,
    tenant: ctx.tenant,
    subject: ctx.subject,
    authenticator: ctx.authenticator,
    upstream: ctx.upstream,
    endpoint: ctx.endpoint,
    code: ctx.errorCode,
    limit: ctx.limit,
  };
  if (websocket) line.websocket = true;
  if (ctx.grafana !== undefined) {
    line.grafanaUser = ctx.grafana.user;
    line.grafanaOrg = ctx.grafana.org;
    line.grafanaTeams = ctx.grafana.teams;
  }
  if (logged) writeAccessLine(log, level, line);
  ctx.trace.end(method, line);
}
