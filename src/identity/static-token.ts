import { ServiceUnavailable, Unauthorized } from '../core/http-errors.js';
import { planTokenSource, type TokenSourceDeps } from '../secrets/create.js';
import { createTokenRefresher, type TokenRefresher } from '../secrets/refresher.js';
import type { SecretsConfig } from '../config/sections/secrets.js';
import type { Authenticator, Credentials } from './authenticator.js';
import type { Identity } from './identity.js';
import { parseTokenSet, type TokenSet } from './token-set.js';

export interface StaticTokenAuthenticatorOptions {
  /** Name in logs and in each identity; default `static-token`. */
  readonly name?: string;
  /** The current set (the refresher's `current`); `undefined` while it has never loaded. */
  readonly tokens: () => TokenSet | undefined;
  /**
   * When true, a bearer token that is not in the set but has the shape of a JWS compact serialization
   * (RFC 7515 §7.1: three base64url segments) is *not mine*, so a JWT authenticator later in the chain can
   * verify it. Default false: every unknown bearer is refused here. Falling through is safe because the next
   * authenticator verifies the token itself and the chain answers 401 when nobody accepts it.
   */
  readonly passThroughJwt?: boolean;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Static bearer tokens (LGTM-Auth-Proxy's token → tenant map).
 * - no bearer credential: `undefined` (not mine);
 * - a token in the set: its identity;
 * - a JWT-shaped token not in the set, with `passThroughJwt`: `undefined`;
 * - any other token: throws `Unauthorized('invalid_token')`;
 * - the set never loaded: throws `ServiceUnavailable('token_set_unavailable')`, since we cannot tell a good
 *   token from a bad one (readiness already reports it).
 */
export function createStaticTokenAuthenticator(options: StaticTokenAuthenticatorOptions): Authenticator {
  const name = options.name ?? 'static-token';
  const passThroughJwt = options.passThroughJwt ?? false;
  return Object.freeze({
    name,
    authenticate(credentials: Credentials): Identity | undefined {
      const token = credentials.bearer?.token;
      if (token === undefined) return undefined;
      const tokens = options.tokens();
      if (tokens === undefined) {
        throw new ServiceUnavailable('token_set_unavailable', 'the static token set has not been loaded yet');
      }
      const identity = tokens.lookup(token);
      if (identity !== undefined) return identity;
      if (passThroughJwt && JWS_COMPACT.test(token)) return undefined;
      throw new Unauthorized('invalid_token', 'unknown bearer token', 'Bearer realm="scopegate", error="invalid_token"');
    },
  });
}

export interface TokenSource {
  /** Not started: call `await refresher.start()`, add `refresher.readiness` to /ready, `close()` at shutdown. */
  readonly refresher: TokenRefresher<TokenSet>;
  readonly authenticator: Authenticator;
}

/** Builds the configured static-token source, or `undefined` when `backend_type` is not set. */
export async function createTokenSource(config: SecretsConfig, deps: TokenSourceDeps): Promise<TokenSource | undefined> {
  const plan = await planTokenSource(config, deps);
  if (plan === undefined) return undefined;
  const authenticatorName = 'static-token';
  const refresher = createTokenRefresher<TokenSet>({
    ...plan,
    parse: (raw) => parseTokenSet(raw, { authenticator: authenticatorName, policyLabel: config.static_tokens.policy_label }),
    clock: deps.clock,
    logger: deps.logger,
    registry: deps.registry,
  });
  const authenticator = createStaticTokenAuthenticator({
    name: authenticatorName,
    tokens: () => refresher.current(),
    passThroughJwt: config.static_tokens.pass_through_jwt ?? false,
  });
  return Object.freeze({ refresher, authenticator });
}
