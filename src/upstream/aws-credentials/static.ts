import type { AwsCredentials, CredentialProvider } from './credentials.js';

export interface StaticCredentialsOptions {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * Keys written in config (through `${ENV}` substitution). They never expire as far as we know, so the
 * refresher fetches them once; a session token here expires unseen, which is why the docs steer to `default`.
 */
export function createStaticCredentialProvider(options: StaticCredentialsOptions): CredentialProvider {
  const credentials: AwsCredentials = Object.freeze({ ...options });
  return { kind: 'static', fetchCredentials: () => Promise.resolve(credentials) };
}
