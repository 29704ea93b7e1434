import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { CredentialSourceError, type CredentialProvider } from './credentials.js';

export interface DefaultChainOptions {
  /** Shared config/credentials profile; else AWS_PROFILE, else `default`. */
  readonly profile?: string;
}

/**
 * The SDK's default chain: environment, SSO and shared config/credentials files, web identity (IRSA, EKS pod
 * identity via AWS_CONTAINER_*), ECS container and EC2 instance metadata. The SDK memoises what it resolved;
 * `forceRefresh` makes each of our scheduled refreshes reach the source, so expiry and breaker stay ours.
 */
export function createDefaultChainCredentialProvider(options: DefaultChainOptions): CredentialProvider {
  const resolve = fromNodeProviderChain(options.profile === undefined ? {} : { profile: options.profile });
  return {
    kind: 'default',
    async fetchCredentials() {
      try {
        const identity = await resolve({ forceRefresh: true });
        return {
          accessKeyId: identity.accessKeyId,
          secretAccessKey: identity.secretAccessKey,
          ...(identity.sessionToken === undefined ? {} : { sessionToken: identity.sessionToken }),
          ...(identity.expiration === undefined ? {} : { expiresAtMs: identity.expiration.getTime() }),
        };
      } catch (error) {
        throw new CredentialSourceError('default_chain_failed', 'no credentials from the AWS default provider chain', { cause: error });
      }
    },
  };
}
