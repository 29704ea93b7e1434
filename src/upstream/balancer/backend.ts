import type { Dispatcher } from 'undici';
import type { BackendHealth } from './backend-health.js';
import type { Candidate } from './pick.js';

/**
 * One backend of a balanced upstream: its own pool (composed with the upstream's signing, so every backend is
 * signed for its own host), its health, and what the policies read. `draining` backends (gone from DNS) take no
 * new request; their pool closes once the requests in flight have ended.
 */
export interface Backend extends Candidate {
  /** The origin, `http://10.0.0.7:9090`: the metrics' `backend` label and the key DNS discovery compares. */
  readonly key: string;
  readonly weight: number;
  readonly dispatcher: Dispatcher;
  readonly health: BackendHealth;
  inFlight: number;
  currentWeight: number;
  draining: boolean;
  close(): Promise<void>;
}
