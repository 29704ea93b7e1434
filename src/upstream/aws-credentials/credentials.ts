/** AWS credentials as the signer uses them. `expiresAtMs` undefined = they never expire (static keys). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiresAtMs?: number;
}

/**
 * A source of AWS credentials (one file per variant: static, default chain, web identity, OIDC, Vault).
 * The refresher alone calls it, through the circuit breaker; a provider never caches or retries on its own.
 */
export interface CredentialProvider {
  /** Bounded name for logs, e.g. `vault`. */
  readonly kind: string;
  fetchCredentials(signal: AbortSignal): Promise<AwsCredentials>;
}

/**
 * A credential source failed. `code` is stable snake_case; the message never holds a key, token or secret
 * (Vault and STS error bodies are summarised, not echoed).
 */
export class CredentialSourceError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialSourceError';
    this.code = code;
  }
}

/** True while the credentials may still sign: before their expiry instant. */
export function isUsableAt(credentials: AwsCredentials, nowMs: number): boolean {
  return credentials.expiresAtMs === undefined || nowMs < credentials.expiresAtMs;
}
