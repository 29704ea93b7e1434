/**
 * Where the token set comes from. A source only fetches and parses (JSON/YAML → a plain object); validation
 * into a `TokenSet` and keeping the last good value are the refresher's job, so every source behaves alike.
 */
export interface SecretSource {
  /** Stable, bounded name for logs and the `source` metric label: "file", "env", "secretsmanager". */
  readonly name: string;
  /** Fetches the current raw value. Rejects with `SecretSourceError`, whose message holds no secret. */
  load(signal?: AbortSignal): Promise<unknown>;
  /** Calls `onChange` when the source may have changed (debounced); returns the function that stops it. */
  watch?(onChange: () => void): () => void;
  /** Releases clients and sockets (the AWS SDK client keeps a connection pool). */
  close?(): void;
}

/** A source failed to fetch or parse. The message names the source and the reason, never the content. */
export class SecretSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretSourceError';
  }
}

/**
 * Parses JSON without echoing the input: V8's SyntaxError quotes the text around the error, which here is a
 * token. Only the fact and the origin are reported.
 */
export function parseJsonSecret(text: string, origin: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SecretSourceError(`${origin}: invalid JSON`);
  }
}
