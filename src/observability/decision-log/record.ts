/**
 * One access decision, as the decision log keeps it: who asked (never a credential), what was asked, which
 * policy decided and where that policy came from, what was decided, and what was sent. Separate from the access
 * log: this is the audit trail (`[decision_log]`, docs/decisions.md), kept to its own sink.
 */
export interface DecisionRecord {
  /** RFC 3339 with milliseconds, when the request ended. */
  readonly time: string;
  readonly requestId: string;
  readonly traceId: string;
  /**
   * `allow`: sent upstream (whatever it answered); `deny`: refused by the gateway (4xx); `error`: the gateway
   * could not decide or send (5xx), or the client left before a decision.
   */
  readonly decision: 'allow' | 'deny' | 'error';
  /** The refusal's catalogue code (core/error-codes.ts); absent when allowed. */
  readonly code?: string;
  /** The status the client got. */
  readonly status: number;
  readonly method: string;
  readonly path?: string;
  readonly identity?: DecisionIdentity;
  /** No identity: the authenticator that refused the credential. */
  readonly decidedBy?: string;
  /** The tenant header as sent (`a|b` when federated); absent when the request was refused before. */
  readonly tenants?: readonly string[];
  readonly upstream?: string;
  readonly endpoint?: string;
  readonly policy?: DecisionPolicy;
  /** `[[limits.rules]]` that matched the request, and the one that refused it. */
  readonly limits?: { readonly rules: readonly string[]; readonly refusedBy?: string };
  /** The endpoint row's query parameters (`Endpoint.query.params`) before and after enforcement: text, or SHA-256 only. */
  readonly query?: DecisionQuery;
  /** The upstream's status when the request was sent and answered. */
  readonly upstreamStatus?: number;
  /** Bytes written to the client for this response, headers included. */
  readonly responseBytes?: number;
  readonly durationMs: number;
}

export interface DecisionIdentity {
  readonly authenticator: string;
  readonly subject: string;
  readonly tenants: readonly string[];
  readonly roles?: readonly string[];
  readonly scopes: readonly string[];
  /** A Grafana user's mapped teams that decided (`[auth.grafana]`). */
  readonly teams?: readonly string[];
}

export interface DecisionPolicy {
  /** The policy as enforced: `none`, `full`, or its matchers (`namespace=~"a|b"`). */
  readonly text: string;
  /**
   * Where it came from: `token_entry`, `users_file`, `acl_roles`, `token_claims`, `fixed_tenant`, `grafana_teams`,
   * `grafana_service_account`.
   */
  readonly source: string;
}

export type DecisionQuery =
  | { readonly before: string; readonly after?: string }
  | { readonly beforeSha256: string; readonly afterSha256?: string };

/**
 * Where records go. `accepting` false means the sink cannot take more now (queue full, or writes failing):
 * with `fail_closed` the gateway refuses requests while it is; otherwise records are dropped and counted.
 */
export interface DecisionSink {
  accepting(): boolean;
  write(record: DecisionRecord): void;
  close(): Promise<void>;
}
