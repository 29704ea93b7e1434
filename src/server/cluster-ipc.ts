import type { Worker } from 'node:cluster';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ProxyListener } from './gateway-server.js';

/**
 * The admin questions a cluster primary asks its workers over the IPC channel: their metrics (as
 * prom-client JSON, for `AggregatorRegistry.aggregate`) and their readiness. One request, one reply, matched
 * by id; a worker that does not answer in time counts as not ready and contributes no metrics.
 */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

interface AdminRequest {
  readonly type: 'scopegate:admin-request';
  readonly id: number;
  readonly what: 'metrics' | 'readiness';
}

interface AdminReply {
  readonly type: 'scopegate:admin-reply';
  readonly id: number;
  readonly metrics?: WorkerMetrics;
  /** Check name → reason, only the checks that are not ready. */
  readonly reasons?: Record<string, string>;
}

function isAdminRequest(message: unknown): message is AdminRequest {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'scopegate:admin-request';
}

function isAdminReply(message: unknown): message is AdminReply {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'scopegate:admin-reply';
}

/** Worker side: answers the primary from whichever app is current (a reload swaps registries). */
export function answerAdminRequests(gateway: ProxyListener, isAccepting: () => boolean): void {
  process.on('message', (message: unknown) => {
    if (!isAdminRequest(message)) return;
    const app = gateway.current();
    const reply = async (): Promise<AdminReply> => {
      if (message.what === 'metrics') {
        return { type: 'scopegate:admin-reply', id: message.id, metrics: await app.metrics.registry.getMetricsAsJSON() };
      }
      const reasons: Record<string, string> = {};
      if (!isAccepting()) reasons.server = 'shutting down';
      for (const check of app.readiness) {
        const reason = check.notReadyReason();
        if (reason !== undefined) reasons[check.name] = reason;
      }
      return { type: 'scopegate:admin-reply', id: message.id, reasons };
    };
    void reply().then(
      (answer) => process.send?.(answer),
      () => process.send?.({ type: 'scopegate:admin-reply', id: message.id, reasons: { metrics: 'collection failed' } }),
    );
  });
}

export type AskWorker = (worker: Worker, what: AdminRequest['what'], timeoutMs: number) => Promise<AdminReply | undefined>;

/** Primary side: one question to one worker; `undefined` when it did not answer within `timeoutMs`. */
export function createWorkerAsker(): AskWorker {
  let lastId = 0;
  return (worker, what, timeoutMs) => {
    lastId = (lastId + 1) % Number.MAX_SAFE_INTEGER;
    return askOnce(worker, what, lastId, timeoutMs);
  };
}

function askOnce(worker: Worker, what: AdminRequest['what'], id: number, timeoutMs: number): Promise<AdminReply | undefined> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isAdminReply(message) || message.id !== id) return;
      finish(message);
    };
    const finish = (reply: AdminReply | undefined) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(reply);
    };
    const onExit = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    if (!worker.isConnected()) return finish(undefined);
    const request: AdminRequest = { type: 'scopegate:admin-request', id, what };
    worker.send(request);
  });
}
