/** A part whose state decides /ready: the token set, JWKS keys, AWS credentials. */
export interface ReadinessCheck {
  readonly name: string;
  /** `undefined` when ready, else the reason (no secret in it). */
  notReadyReason(): string | undefined;
  /**
   * What /ready shows of the part besides its verdict: a balanced upstream's backends and their state
   * (`up`, `down`, `half_open`, `draining`). Informative only: a backend down does not make the gateway unready.
   */
  details?(): Readonly<Record<string, string>>;
}
