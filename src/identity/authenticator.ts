import type { MaybePromise } from '../core/maybe-async.js';
import type { Identity } from './identity.js';

/** A token found in one of the configured headers. */
export interface BearerCredential {
  readonly header: string;
  readonly token: string;
}

/** HTTP Basic credentials (RFC 7617). */
export interface BasicCredential {
  readonly username: string;
  readonly password: string;
}

/** Every credential the request carried, found once by `credentials.ts`. */
export interface Credentials {
  /** The bearer token, if any (all configured headers agreed on it). */
  readonly bearer?: BearerCredential;
  readonly basic?: BasicCredential;
  /** Grafana's forwarded ID token (`X-Id-Token`), if sent. */
  readonly idToken?: string;
  /** Grafana's own signed identity of the signed-in user (`X-Grafana-Id`), if sent. */
  readonly grafanaId?: string;
  /** The client certificate the TLS listener verified (`proxy.tls.client_ca_file`), by its subject CN. */
  readonly clientCertificate?: { readonly subject: string };
}

/**
 * One way to authenticate. `authenticate` answers one of three ways:
 * - `undefined`: not mine (the chain tries the next authenticator);
 * - an `Identity`;
 * - throws `Unauthorized`: the credential is recognised but bad; the chain stops (never falls through).
 */
export interface Authenticator {
  readonly name: string;
  /**
   * True for an authenticator that needs no credential (fixed_tenant): it answers for requests that carry
   * none of ours, and is never asked to vouch for one credential among several (see chain.ts).
   */
  readonly anonymous?: boolean;
  authenticate(credentials: Credentials): Promise<Identity | undefined> | Identity | undefined;
  /** Stops timers and watchers. */
  close?(): Promise<void> | void;
}

/**
 * An identity that a caller presents on someone else's behalf: Grafana, authenticated by the data source's
 * own credential, presents its signed-in user (`X-Grafana-Id`). The chain first authenticates the caller with
 * the request's other credentials, then hands it here; the caller's own identity is never the answer.
 */
export interface PresentedAuthenticator {
  readonly name: string;
  /** True when the request carries this authenticator's credential. */
  isPresented(credentials: Credentials): boolean;
  /**
   * The presented identity, or throws: the caller is not allowed to present (403), or the presented
   * credential is bad (401/403). Never `undefined`: a presented credential never falls back to the caller.
   * `caller` is `undefined` when no authenticator of the chain recognised a credential of the request (the
   * channel may still be one the presenter checks itself: a client certificate).
   */
  authenticatePresented(credentials: Credentials, caller: Identity | undefined): MaybePromise<Identity>;
  close?(): Promise<void> | void;
}
