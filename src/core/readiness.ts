/** A part whose state decides /ready: the token set, JWKS keys, AWS credentials. */
export interface ReadinessCheck {
  readonly name: string;
  /** `undefined` when ready, else the reason (no secret in it). */
  notReadyReason(): string | undefined;
}
