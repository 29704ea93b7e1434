import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { CredentialSourceError, type CredentialProvider } from './credentials.js';
import { requestJson } from './http-json.js';
import type { AssumeRoleWithWebIdentity } from './sts-web-identity.js';

export interface OidcClientCredentialsOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly clientSecretFile?: string;
  readonly scope?: string;
  /** Non-standard but common (Auth0, Okta): the audience the token is minted for, e.g. sts.amazonaws.com. */
  readonly audience?: string;
}

/** RFC 6749 §5.1 token response; an OIDC provider may add `id_token`. */
const tokenAnswer = z.object({ access_token: z.string().min(1), id_token: z.string().min(1).optional() });

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they go into HTTP Basic. */
function encodeBasicAuth(clientId: string, clientSecret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

async function readClientSecret(options: OidcClientCredentialsOptions, signal: AbortSignal): Promise<string> {
  if (options.clientSecret !== undefined) return options.clientSecret;
  try {
    return (await readFile(options.clientSecretFile ?? '', { encoding: 'utf8', signal })).trim();
  } catch (error) {
    throw new CredentialSourceError('oidc_secret_unreadable', `cannot read the OIDC client secret file ${options.clientSecretFile}`, {
      cause: error,
    });
  }
}

/**
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4) at the token endpoint, then the token goes to
 * sts:AssumeRoleWithWebIdentity. STS accepts an OIDC ID token or an access token that is a JWT from an IAM
 * OIDC identity provider; the ID token is preferred when both come back.
 */
export function createOidcCredentialProvider(
  options: OidcClientCredentialsOptions,
  assumeRole: AssumeRoleWithWebIdentity,
  deps: { dispatcher?: Dispatcher } = {},
): CredentialProvider {
  const tokenUrl = new URL(options.tokenUrl);
  return {
    kind: 'oidc',
    async fetchCredentials(signal) {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (options.scope !== undefined) form.set('scope', options.scope);
      if (options.audience !== undefined) form.set('audience', options.audience);
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        authorization: encodeBasicAuth(options.clientId, await readClientSecret(options, signal)),
      };
      const answer = await requestJson(
        tokenUrl,
        { method: 'POST', headers, body: form.toString(), signal, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) },
        'oidc',
      );
      const parsed = tokenAnswer.safeParse(answer);
      if (!parsed.success) throw new CredentialSourceError('oidc_bad_response', 'the token endpoint answered without an access_token');
      return assumeRole(parsed.data.id_token ?? parsed.data.access_token, signal);
    },
  };
}
