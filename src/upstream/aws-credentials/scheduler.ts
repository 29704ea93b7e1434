/** A cancellable one-shot timer. Injected so tests drive refreshes by hand instead of waiting. */
export interface Scheduler {
  schedule(run: () => void, delayMs: number): { cancel(): void };
}

/** setTimeout's ceiling (2^31-1 ms, ~24.8 days); longer delays would fire at once. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Real timers, unref'd so a pending refresh never keeps the process alive at shutdown. */
export const timerScheduler: Scheduler = Object.freeze({
  schedule(run: () => void, delayMs: number) {
    const timer = setTimeout(run, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
});
