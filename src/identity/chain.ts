import type { Clock } from '../core/clock.js';
import { HttpError, Unauthorized } from '../core/http-errors.js';
import type { Authenticator, Credentials } from './authenticator.js';
import type { Identity } from './identity.js';

export interface AuthenticatorChain {
  readonly names: readonly string[];
  authenticate(credentials: Credentials): Promise<Identity>;
  close(): Promise<void>;
}

/**
 * Asks each authenticator in the configured order. The first that returns an identity decides; one that
 * throws stops the chain (a recognised but bad credential never falls through to a weaker method).
 * Nobody → 401, with a challenge naming the schemes the gateway accepts.
 */
export type AuthenticationResult = 'success' | 'refused' | 'unrecognised';

export function createAuthenticatorChain(
  authenticators: readonly Authenticator[],
  options: { clock: Clock; challenge: string; observe?: (authenticator: string, result: AuthenticationResult) => void },
): AuthenticatorChain {
  const observe = options.observe ?? (() => undefined);
  return {
    names: authenticators.map((a) => a.name),
    async authenticate(credentials) {
      for (const authenticator of authenticators) {
        let identity;
        try {
          identity = await authenticator.authenticate(credentials);
        } catch (error) {
          if (error instanceof HttpError) error.decidedBy ??= authenticator.name;
          observe(authenticator.name, 'refused');
          throw error;
        }
        if (identity === undefined) continue;
        if (identity.expiresAt !== undefined && identity.expiresAt * 1000 <= options.clock.now()) {
          observe(authenticator.name, 'refused');
          throw new Unauthorized('token_expired', 'the credential has expired', options.challenge);
        }
        observe(authenticator.name, 'success');
        return identity;
      }
      observe('none', 'unrecognised');
      const sent = credentials.bearer ?? credentials.basic ?? credentials.idToken;
      if (sent === undefined) {
        throw new Unauthorized('missing_credentials', 'no credentials: send Authorization: Bearer <token>', options.challenge);
      }
      throw new Unauthorized('invalid_credentials', 'the credentials were not accepted', options.challenge);
    },
    async close() {
      await Promise.all(authenticators.map((a) => a.close?.()));
    },
  };
}
