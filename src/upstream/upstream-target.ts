import type { Dispatcher } from 'undici';
import type { UpstreamType } from '../config/schema.js';
import type { UpstreamPolicyOptions } from '../routing/endpoint.js';
import type { EndpointTable } from '../routing/endpoint-table.js';

/** Where one component's requests go: its pool, and the URL path the upstream is mounted at. */
export interface Destination {
  readonly dispatcher: Dispatcher;
  readonly url: URL;
  /** The upstream URL's path without a trailing slash ('' for the root). */
  readonly basePath: string;
}

/** The request a signer sees: final method, URL, headers and body (undefined = streamed). */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** Adds authentication to an outgoing request after every rewrite (SigV4). */
export interface RequestSigner {
  sign(request: SignableRequest): Promise<Record<string, string>>;
  /** Whether a streamed body may be sent unhashed (UNSIGNED-PAYLOAD); if not, bodies are buffered. */
  readonly acceptsStreamedBody: boolean;
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
  readonly allowWrite: boolean;
  /** Lower-case name of the tenant header (X-Scope-OrgID unless configured). */
  readonly tenantHeader: string;
  readonly options: UpstreamPolicyOptions;
  readonly signer: RequestSigner | undefined;
  destination(component: string | undefined): Destination;
}
