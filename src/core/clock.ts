/** Injected time source, so expiry and staleness are tested without sleeps. Milliseconds since epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
