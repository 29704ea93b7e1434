import type { Clock } from '../core/clock.js';
import { HttpError, Unauthorized } from '../core/http-errors.js';
import { andThen, isPromise, type MaybePromise } from '../core/maybe-async.js';
import type { Authenticator, Credentials, PresentedAuthenticator } from './authenticator.js';
import type { Identity } from './identity.js';

export interface AuthenticatorChain {
  readonly names: readonly string[];
  /** An identity at once when every authenticator asked answers at once (static tokens, basic users). */
  authenticate(credentials: Credentials): MaybePromise<Identity>;
  close(): Promise<void>;
}

export type AuthenticationResult = 'success' | 'refused' | 'unrecognised';

interface ChainOptions {
  readonly clock: Clock;
  readonly challenge: string;
  readonly observe?: (authenticator: string, result: AuthenticationResult) => void;
  /** Identities presented by an authenticated caller (Grafana's users); see `PresentedAuthenticator`. */
  readonly presented?: readonly PresentedAuthenticator[];
}

/**
 * Asks each authenticator in the configured order. The first that returns an identity decides; one that
 * throws stops the chain (a recognised but bad credential never falls through to a weaker method).
 * Nobody → 401, with a challenge naming the schemes the gateway accepts.
 *
 * A request with credentials of several kinds (Basic, a bearer token, an accepted X-Id-Token) is judged one
 * credential at a time, each through the whole chain: every credential some authenticator recognises must
 * be accepted, and all of them must name the same identity (`sameIdentity`), else 401
 * `conflicting_credentials` — whatever their kinds, so a client cannot pair its own credential with
 * another's and be served as whichever the order reaches first. A credential no authenticator recognises
 * (Basic with no `[auth.basic]`, X-Id-Token where no provider accepts it) is not one of ours and is ignored.
 * Several bearer headers are one credential: findCredentials already refused them unless equal.
 *
 * A presented identity (X-Grafana-Id where `[auth.grafana]` is configured) is judged after the caller that
 * presents it: the request's other credentials must name an identity (the data source's own credential, by
 * the rules above; an anonymous authenticator never vouches), and the presented authenticator decides with
 * that caller in hand (or with none: it may accept a channel of its own, a client certificate). Its answer replaces the caller's identity; a
 * refusal never falls back to the caller. Without the presented credential the caller is served as itself.
 */
export function createAuthenticatorChain(authenticators: readonly Authenticator[], options: ChainOptions): AuthenticatorChain {
  const observe = options.observe ?? (() => undefined);
  const withCredentials = authenticators.filter((a) => a.anonymous !== true);
  const anonymous = authenticators.filter((a) => a.anonymous === true);

  /** The authenticator's answer, checked: an identity, nobody (undefined), or a refusal (thrown). */
  function judged(authenticator: { readonly name: string }, identity: Identity | undefined): Identity | undefined {
    if (identity !== undefined && identity.expiresAt !== undefined && identity.expiresAt * 1000 <= options.clock.now()) {
      observe(authenticator.name, 'refused');
      throw new Unauthorized('token_expired', 'the credential has expired', options.challenge);
    }
    return identity;
  }

  function refused(authenticator: { readonly name: string }, error: unknown): never {
    if (error instanceof HttpError) error.decidedBy ??= authenticator.name;
    observe(authenticator.name, 'refused');
    throw error;
  }

  /** Asks `candidates[from…]` in order; waits only for an authenticator that answers with a promise. */
  function firstIdentity(candidates: readonly Authenticator[], credentials: Credentials, from = 0): MaybePromise<Identity | undefined> {
    for (let i = from; i < candidates.length; i++) {
      const authenticator = candidates[i] as Authenticator;
      let answer: ReturnType<Authenticator['authenticate']>;
      try {
        answer = authenticator.authenticate(credentials);
      } catch (error) {
        refused(authenticator, error);
      }
      if (isPromise(answer)) {
        return answer.then(
          (identity) => judged(authenticator, identity) ?? firstIdentity(candidates, credentials, i + 1),
          (error: unknown) => refused(authenticator, error),
        );
      }
      const identity = judged(authenticator, answer);
      if (identity !== undefined) return identity;
    }
    return undefined;
  }

  // Several credentials are rare: plain async code.
  async function agreeingIdentity(parts: readonly Credentials[], orAnonymous = true): Promise<Identity | undefined> {
    let agreed: Identity | undefined;
    for (const part of parts) {
      const identity = await firstIdentity(withCredentials, part);
      if (identity === undefined) continue;
      if (agreed !== undefined && !sameIdentity(agreed, identity)) {
        observe(identity.authenticator, 'refused');
        const error = new Unauthorized(
          'conflicting_credentials',
          'the request carries credentials of different identities',
          options.challenge,
        );
        error.decidedBy = `${agreed.authenticator}+${identity.authenticator}`;
        throw error;
      }
      agreed ??= identity;
    }
    return agreed ?? (orAnonymous ? await firstIdentity(anonymous, {}) : undefined);
  }

  /** The caller (credentials only, never anonymous), then the identity it presents. */
  function presentedIdentity(presenter: PresentedAuthenticator, credentials: Credentials): MaybePromise<Identity> {
    const parts = splitCredentials(credentials);
    const caller = parts.length > 1 ? agreeingIdentity(parts, false) : firstIdentity(withCredentials, credentials);
    return andThen(caller, (found) => {
      let answer: MaybePromise<Identity>;
      try {
        answer = presenter.authenticatePresented(credentials, found);
      } catch (error) {
        refused(presenter, error);
      }
      return isPromise(answer)
        ? answer.then(
            (identity) => identity,
            (error: unknown) => refused(presenter, error),
          )
        : answer;
    });
  }

  return {
    names: [...authenticators.map((a) => a.name), ...(options.presented ?? []).map((p) => p.name)],
    authenticate(credentials) {
      const presenter = options.presented?.find((p) => p.isPresented(credentials));
      if (presenter !== undefined) {
        return andThen(presentedIdentity(presenter, credentials), (identity) => {
          const checked = judged(presenter, identity) as Identity;
          observe(presenter.name, 'success');
          return checked;
        });
      }
      const parts = splitCredentials(credentials);
      const found = parts.length > 1 ? agreeingIdentity(parts) : firstIdentity(authenticators, credentials);
      return andThen(found, (identity) => {
        if (identity !== undefined) {
          observe(identity.authenticator, 'success');
          return identity;
        }
        observe('none', 'unrecognised');
        const sent = credentials.bearer ?? credentials.basic ?? credentials.idToken;
        if (sent === undefined) {
          throw new Unauthorized('missing_credentials', 'no credentials: send Authorization: Bearer <token>', options.challenge);
        }
        throw new Unauthorized('invalid_credentials', 'the credentials were not accepted', options.challenge);
      });
    },
    async close() {
      await Promise.all([...authenticators, ...(options.presented ?? [])].map((a) => a.close?.()));
    },
  };
}

/** One `Credentials` per credential the request carries. */
function splitCredentials(credentials: Credentials): Credentials[] {
  const parts: Credentials[] = [];
  if (credentials.basic !== undefined) parts.push({ basic: credentials.basic });
  if (credentials.bearer !== undefined) parts.push({ bearer: credentials.bearer });
  if (credentials.idToken !== undefined) parts.push({ idToken: credentials.idToken });
  return parts;
}

/**
 * Two identities are the same when they grant the same thing: subject, tenants, scopes and label policy
 * (which authenticator found them, and their expiry, may differ).
 */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return (
    a.subject === b.subject &&
    a.tenants.length === b.tenants.length &&
    a.tenants.every((tenant, i) => b.tenants[i] === tenant) &&
    a.scopes.size === b.scopes.size &&
    [...a.scopes].every((scope) => b.scopes.has(scope)) &&
    JSON.stringify(a.policy) === JSON.stringify(b.policy)
  );
}
