import { AssumeRoleWithWebIdentityCommand, type AssumeRoleWithWebIdentityCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { CredentialSourceError, type AwsCredentials } from './credentials.js';

export interface StsWebIdentityOptions {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly durationMs?: number;
  readonly region: string;
  /** Explicit STS endpoint; when absent the SDK honours AWS_ENDPOINT_URL_STS, then the regional endpoint. */
  readonly endpoint?: string;
}

export type AssumeRoleWithWebIdentity = (token: string, signal: AbortSignal) => Promise<AwsCredentials>;

/**
 * sts:AssumeRoleWithWebIdentity (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html)
 * through the SDK's STSClient, which speaks the awsQuery protocol (form POST, XML answer) and sends this call
 * unsigned. `maxAttempts: 1`: the refresher and its breaker are the retry policy, so the source sees exactly
 * the calls we count.
 */
export function createStsWebIdentity(options: StsWebIdentityOptions): AssumeRoleWithWebIdentity {
  const client = new STSClient({
    region: options.region,
    maxAttempts: 1,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  });
  return async (token, signal) => {
    let answer: AssumeRoleWithWebIdentityCommandOutput;
    try {
      answer = await client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: options.roleArn,
          RoleSessionName: options.sessionName,
          WebIdentityToken: token,
          ...(options.durationMs === undefined ? {} : { DurationSeconds: Math.round(options.durationMs / 1000) }),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      // The SDK error names the STS code (InvalidIdentityToken, ExpiredTokenException); it never echoes the token.
      const code = error instanceof Error ? error.name : 'unknown';
      throw new CredentialSourceError('sts_assume_role_failed', `STS AssumeRoleWithWebIdentity failed: ${code}`, { cause: error });
    }
    const credentials = answer.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.Expiration) {
      throw new CredentialSourceError('sts_bad_response', 'STS answered without complete credentials');
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      ...(credentials.SessionToken === undefined ? {} : { sessionToken: credentials.SessionToken }),
      expiresAtMs: credentials.Expiration.getTime(),
    };
  };
}
