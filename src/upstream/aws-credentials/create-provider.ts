import type { Dispatcher } from 'undici';
import type { CredentialsConfig } from '../../config/sections/sign.js';
import type { Clock } from '../../core/clock.js';
import type { CredentialProvider } from './credentials.js';
import { createOidcCredentialProvider } from './oidc.js';
import { createStaticCredentialProvider } from './static.js';
import type { AssumeRoleWithWebIdentity } from './sts-web-identity.js';
import { createVaultCredentialProvider } from './vault.js';
import { createWebIdentityCredentialProvider } from './web-identity.js';

export interface ProviderDeps {
  readonly clock: Clock;
  /** For Vault and OIDC token calls; default: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher;
}

type StsConfig = Extract<CredentialsConfig, { type: 'web_identity' | 'oidc' }>;

async function createAssumeRole(config: StsConfig, signRegion: string): Promise<AssumeRoleWithWebIdentity> {
  const { createStsWebIdentity } = await import('./sts-web-identity.js');
  return createStsWebIdentity({
    roleArn: config.role_arn,
    sessionName: config.session_name,
    region: config.sts_region ?? signRegion,
    ...(config.duration === undefined ? {} : { durationMs: config.duration }),
    ...(config.sts_endpoint === undefined ? {} : { endpoint: config.sts_endpoint }),
  });
}

/**
 * Builds the credential source named by `credentials.type` (one file per variant). The AWS SDK is imported only
 * by the variants that call it (the default chain, STS for web identity and OIDC): static keys and Vault never
 * pay its memory and load time.
 */
export async function createCredentialProvider(
  config: CredentialsConfig,
  signRegion: string,
  deps: ProviderDeps,
): Promise<CredentialProvider> {
  switch (config.type) {
    case 'default': {
      const { createDefaultChainCredentialProvider } = await import('./default-chain.js');
      return createDefaultChainCredentialProvider(config.profile === undefined ? {} : { profile: config.profile });
    }
    case 'static':
      return createStaticCredentialProvider({
        accessKeyId: config.access_key_id,
        secretAccessKey: config.secret_access_key,
        ...(config.session_token === undefined ? {} : { sessionToken: config.session_token }),
      });
    case 'web_identity':
      return createWebIdentityCredentialProvider({ tokenFile: config.token_file }, await createAssumeRole(config, signRegion));
    case 'oidc':
      return createOidcCredentialProvider(
        {
          tokenUrl: config.token_url,
          clientId: config.client_id,
          ...(config.client_secret === undefined ? {} : { clientSecret: config.client_secret }),
          ...(config.client_secret_file === undefined ? {} : { clientSecretFile: config.client_secret_file }),
          ...(config.scope === undefined ? {} : { scope: config.scope }),
          ...(config.audience === undefined ? {} : { audience: config.audience }),
        },
        await createAssumeRole(config, signRegion),
        deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher },
      );
    case 'vault':
      return createVaultCredentialProvider(
        {
          address: config.address,
          mount: config.mount,
          role: config.role,
          endpoint: config.endpoint,
          ...(config.token === undefined ? {} : { token: config.token }),
          ...(config.token_file === undefined ? {} : { tokenFile: config.token_file }),
          ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
          ...(config.ttl === undefined ? {} : { ttlMs: config.ttl }),
        },
        deps,
      );
  }
}
