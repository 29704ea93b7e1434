import type { DecisionRecord, DecisionSink } from '../../observability/decision-log/record.js';

/** The decision records of the running cases, by request id: what `scopegate test` reads each outcome from. */
export interface MemorySink extends DecisionSink {
  /** The record of `requestId`, once its request has ended (rejects after `timeoutMs`). */
  take(requestId: string, timeoutMs: number): Promise<DecisionRecord>;
}

export function createMemorySink(): MemorySink {
  const records = new Map<string, DecisionRecord>();
  const waiters = new Map<string, (record: DecisionRecord) => void>();
  return {
    accepting: () => true,
    write(record) {
      const waiter = waiters.get(record.requestId);
      if (waiter !== undefined) {
        waiters.delete(record.requestId);
        waiter(record);
      } else {
        records.set(record.requestId, record);
      }
    },
    take(requestId, timeoutMs) {
      const ready = records.get(requestId);
      if (ready !== undefined) {
        records.delete(requestId);
        return Promise.resolve(ready);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(requestId);
          reject(new Error(`no decision was recorded for request ${requestId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(requestId, (record) => {
          clearTimeout(timer);
          resolve(record);
        });
      });
    },
    close: async () => {},
  };
}
