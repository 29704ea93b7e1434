import type { Dispatcher } from 'undici';
import type { UpstreamType } from '../config/sections/core.js';
import type { UpstreamPolicyOptions } from '../routing/endpoint.js';
import type { EndpointTable } from '../routing/endpoint-table.js';
import type { Signer } from './sigv4.js';

/** Where one component's requests go: its pool, and the URL path the upstream is mounted at. */
export interface Destination {
  readonly dispatcher: Dispatcher;
  /**
   * The same for read endpoints: with several backends, a read whose body the gateway buffered (a POST query)
   * may be retried on another backend; writes go through `dispatcher` (retried only with `retry_writes`).
   */
  readonly readDispatcher: Dispatcher;
  readonly url: URL;
  /** The upstream URL's path without a trailing slash ('' for the root). */
  readonly basePath: string;
}

/** One configured upstream, built once per app: its endpoint table, pools and switches. */
export interface UpstreamTarget {
  readonly name: string;
  readonly type: UpstreamType;
  readonly table: EndpointTable;
  readonly timeoutMs: number;
  readonly forwardCredentials: boolean;
  readonly allowFederation: boolean;
  readonly allowAdmin: boolean;
  /** Identities limited by a label policy may use endpoints that cannot enforce it (raw). */
  readonly allowUnenforcedPolicy: boolean;
  readonly allowWrite: boolean;
  /** Lower-case name of the tenant header (X-Scope-OrgID unless configured). */
  readonly tenantHeader: string;
  readonly options: UpstreamPolicyOptions;
  readonly signer: Signer | undefined;
  destination(component: string | undefined): Destination;
}
