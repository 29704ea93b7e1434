import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from '../core/readiness.js';
import type { IdentityOrder, QueryCostReport } from '../observability/query-cost-ledger.js';

export interface AdminDeps {
  /** A registry, or (cluster primary) anything that renders the workers' metrics in its format. */
  readonly registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** The checks behind /ready; a cluster primary asks its workers, hence the promise. */
  readonly readiness: () => readonly ReadinessCheck[] | Promise<readonly ReadinessCheck[]>;
  /** False once shutdown began: /ready answers 503 so load balancers drain us first. */
  readonly isAccepting: () => boolean;
  /** The last hour's most expensive identities and queries (`[query_cost]` on); absent: /query-cost is 404. */
  readonly queryCost?: (by: IdentityOrder) => QueryCostReport;
}

const IDENTITY_ORDERS: ReadonlySet<string> = new Set<IdentityOrder>(['samples', 'seconds', 'bytes']);

export const ADMIN_PATHS: ReadonlySet<string> = new Set(['/ready', '/readyz', '/healthz', '/livez', '/metrics', '/query-cost']);

/**
 * /ready (200 or 503 with the reasons), /healthz (liveness), /metrics (Prometheus text format), /query-cost
 * (the last hour's most expensive identities, ordered by `?by=samples|seconds|bytes`, and queries).
 */
export function createAdminHandler(deps: AdminDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const [path, search] = (req.url ?? '/').split('?');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { status: 'error', error: 'method not allowed' });
    switch (path) {
      case '/healthz':
      case '/livez':
        return sendJson(res, 200, { status: 'ok' });
      case '/ready':
      case '/readyz': {
        const reasons: Record<string, string> = {};
        const details: Record<string, Readonly<Record<string, string>>> = {};
        if (!deps.isAccepting()) reasons.server = 'shutting down';
        for (const check of await deps.readiness()) {
          const reason = check.notReadyReason();
          if (reason !== undefined) reasons[check.name] = reason;
          if (check.details) details[check.name] = check.details();
        }
        const ready = Object.keys(reasons).length === 0;
        const extra = Object.keys(details).length > 0 ? { details } : {};
        return sendJson(res, ready ? 200 : 503, ready ? { status: 'ready', ...extra } : { status: 'not_ready', reasons, ...extra });
      }
      case '/metrics': {
        const text = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': deps.registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case '/query-cost': {
        if (deps.queryCost === undefined)
          return sendJson(res, 404, { status: 'error', error: 'query cost accounting is off ([query_cost] enabled)' });
        const by = new URLSearchParams(search ?? '').get('by') ?? 'samples';
        if (!IDENTITY_ORDERS.has(by)) return sendJson(res, 400, { status: 'error', error: 'by must be samples, seconds or bytes' });
        return sendJson(res, 200, { status: 'success', data: deps.queryCost(by as IdentityOrder) });
      }
      default:
        return sendJson(res, 404, { status: 'error', error: 'not found' });
    }
  };
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
