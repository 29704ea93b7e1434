import { readFile } from 'node:fs/promises';
import { CredentialSourceError, type CredentialProvider } from './credentials.js';
import type { AssumeRoleWithWebIdentity } from './sts-web-identity.js';

export interface WebIdentityOptions {
  /** File holding the OIDC token (EKS IRSA: AWS_WEB_IDENTITY_TOKEN_FILE), re-read on every refresh. */
  readonly tokenFile: string;
}

/**
 * Token file + role ARN → sts:AssumeRoleWithWebIdentity. The file is read on every refresh because the
 * kubelet rotates projected service-account tokens in place.
 */
export function createWebIdentityCredentialProvider(
  options: WebIdentityOptions,
  assumeRole: AssumeRoleWithWebIdentity,
): CredentialProvider {
  return {
    kind: 'web_identity',
    async fetchCredentials(signal) {
      let token: string;
      try {
        token = (await readFile(options.tokenFile, { encoding: 'utf8', signal })).trim();
      } catch (error) {
        throw new CredentialSourceError('web_identity_token_unreadable', `cannot read the web identity token file ${options.tokenFile}`, {
          cause: error,
        });
      }
      if (token === '')
        throw new CredentialSourceError('web_identity_token_empty', `the web identity token file ${options.tokenFile} is empty`);
      return assumeRole(token, signal);
    },
  };
}
