/**
 * The queue in front of a full concurrency rule (`max_queue_duration`): a request over the rule's concurrency
 * waits for a slot instead of being refused at once, which turns a burst into a short wait rather than a storm of
 * client retries (VictoriaMetrics#10078). One queue per counter (rule and bucket key), fair between identities:
 * each identity has its own FIFO line and a freed slot goes to the identities in turn (round robin), so one
 * identity's burst cannot starve another that shares a tenant counter. Within an identity, first come first
 * served. A request that arrives while others wait joins the line instead of taking a slot ahead of them.
 *
 * A slot released in this process wakes the next waiter at once; a waiter also looks again every `pollMs`
 * (a slot freed by another replica through Redis is not announced). Waiting is bounded by the rule's
 * `max_queue_duration`, and the line by `maxLength` (beyond it: refused at once).
 */
export interface AdmissionQueue {
  /** Waiters of every line, for `scopegate_limit_queue_length`. */
  lengthOf(line: string): number;
  /** True when others wait on this line: a new request must queue behind them. */
  isBusy(line: string): boolean;
  /**
   * Joins the line and resolves each time it is this ticket's turn to try for a slot (`'turn'`), or at the
   * deadline (`'timeout'`). `undefined` when the line is full.
   */
  join(line: string, identity: string, maxWaitMs: number): Ticket | undefined;
  /** A slot of the line was freed here: wake the next waiter. */
  wake(line: string): void;
}

export interface Ticket {
  next(): Promise<'turn' | 'timeout'>;
  /** Leaves the line (admitted or timed out); `gotSlot` false passes a wake it used on to the next waiter. */
  leave(gotSlot: boolean): void;
}

interface Waiter {
  readonly identity: string;
  resolve: ((outcome: 'turn' | 'timeout') => void) | undefined;
  /** Woken while it was not waiting (between two tries): its next `next()` returns at once. */
  pendingTurn: boolean;
  woken: boolean;
}

interface Line {
  /** Identity → its waiters, in arrival order; identities in the order they first queued (the round). */
  readonly byIdentity: Map<string, Waiter[]>;
  cursor: number;
  size: number;
}

export function createAdmissionQueue(options: { pollMs: number; maxLength: number }): AdmissionQueue {
  const lines = new Map<string, Line>();

  const nextWaiter = (line: Line): Waiter | undefined => {
    const identities = [...line.byIdentity.keys()];
    for (let i = 0; i < identities.length; i++) {
      const index = (line.cursor + i) % identities.length;
      const waiters = line.byIdentity.get(identities[index] as string) as Waiter[];
      const waiter = waiters.find((w) => !w.woken);
      if (waiter) {
        line.cursor = index + 1;
        return waiter;
      }
    }
    return undefined;
  };

  const wake = (name: string) => {
    const line = lines.get(name);
    if (!line) return;
    const waiter = nextWaiter(line);
    if (!waiter) return;
    waiter.woken = true;
    if (waiter.resolve) {
      waiter.resolve('turn');
    } else {
      waiter.pendingTurn = true;
    }
  };

  return {
    lengthOf: (name) => lines.get(name)?.size ?? 0,
    isBusy: (name) => (lines.get(name)?.size ?? 0) > 0,
    wake,
    join(name, identity, maxWaitMs) {
      let line = lines.get(name);
      if (!line) {
        line = { byIdentity: new Map(), cursor: 0, size: 0 };
        lines.set(name, line);
      }
      if (line.size >= options.maxLength) return undefined;
      const own = line;
      const waiter: Waiter = { identity, resolve: undefined, pendingTurn: false, woken: false };
      const list = own.byIdentity.get(identity);
      if (list) list.push(waiter);
      else own.byIdentity.set(identity, [waiter]);
      own.size += 1;
      let left = false;
      // The deadline is a timer of its own (real time, as the wait is): it ends the wait whatever else happens.
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        waiter.resolve?.('timeout');
      }, maxWaitMs);
      return {
        next() {
          if (timedOut) return Promise.resolve('timeout');
          if (!waiter.pendingTurn) waiter.woken = false;
          if (waiter.pendingTurn) {
            waiter.pendingTurn = false;
            return Promise.resolve('turn');
          }
          return new Promise((resolve) => {
            // The first in its identity's line also looks again now and then (a slot freed by another replica).
            const isFirst = own.byIdentity.get(identity)?.[0] === waiter;
            const poll = isFirst ? setTimeout(() => waiter.resolve?.('turn'), options.pollMs) : undefined;
            waiter.resolve = (outcome) => {
              clearTimeout(poll);
              waiter.resolve = undefined;
              resolve(outcome);
            };
          });
        },
        leave(gotSlot) {
          if (left) return;
          left = true;
          clearTimeout(deadline);
          const waiters = own.byIdentity.get(identity) ?? [];
          waiters.splice(waiters.indexOf(waiter), 1);
          if (waiters.length === 0) own.byIdentity.delete(identity);
          own.size -= 1;
          if (own.size === 0) lines.delete(name);
          if (waiter.woken && !gotSlot) wake(name);
        },
      };
    },
  };
}
