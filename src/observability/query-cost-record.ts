/** What one query cost, as the gateway accounts it once its response was sent (server/query-meter.ts). */
export interface QueryCostRecord {
  /** The tenant set as one label value (`a|b` sorted). */
  readonly tenant: string;
  /** The identity's subject (a token entry's name, a user, a JWT `sub`): never a credential. */
  readonly identity: string;
  readonly upstream: string;
  readonly endpoint: string;
  /** The query as sent upstream (after enforcement), cut to a bounded length; `''` when none was read. */
  readonly query: string;
  /** Samples the backend says it loaded; `undefined` when it does not say. */
  readonly samples: number | undefined;
  /** Bytes the backend says it read (Loki, Mimir); `undefined` when it does not say. */
  readonly bytesProcessed: number | undefined;
  /** Body bytes the client was sent. */
  readonly responseBytes: number;
  /** From the request's arrival to its response's last byte. */
  readonly seconds: number;
  /** The span a range query covers, and its step, as sent; `undefined` for instant queries or unread times. */
  readonly rangeSeconds: number | undefined;
  readonly stepSeconds: number | undefined;
}

/** The ranking score of a query: the samples the backend loaded where it says, else the seconds it took. */
export function costScore(record: Pick<QueryCostRecord, 'samples' | 'seconds'>): number {
  return record.samples ?? record.seconds;
}
