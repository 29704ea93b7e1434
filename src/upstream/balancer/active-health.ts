import type { Clock } from '../../core/clock.js';
import type { Backend } from './backend.js';

export interface ActiveCheckOptions {
  /** The path to GET, under the upstream's base path (`/-/ready` → `/prometheus/-/ready`). */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/**
 * Active health: every `intervalMs`, a GET of the check path on each backend, through the backend's own pool
 * (so it is signed like any request); a 2xx in time marks it up, anything else down. With an active check a
 * backend that is down comes back only by passing it (no client request is its trial). One check per backend
 * at a time; the first round runs at once. Returns the stop function; the timer does not hold the process.
 */
export function startActiveChecks(
  backends: () => readonly Backend[],
  options: ActiveCheckOptions,
): { stop(): void; firstRound: Promise<void> } {
  const pending = new Set<Backend>();
  const check = async (backend: Backend): Promise<void> => {
    if (pending.has(backend) || backend.draining) return;
    pending.add(backend);
    try {
      const response = await backend.dispatcher.request({
        method: 'GET',
        path: options.path,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.body.dump();
      if (response.statusCode >= 200 && response.statusCode < 300) backend.health.succeeded();
      else backend.health.failed(options.clock.now());
    } catch {
      if (!backend.draining) backend.health.failed(options.clock.now());
    } finally {
      pending.delete(backend);
    }
  };
  const round = () => Promise.all(backends().map(check)).then(() => undefined);
  const timer = setInterval(() => void round(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), firstRound: round() };
}
