import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { parseJsonSecret, SecretSourceError, type SecretSource } from './source.js';

export interface SecretsManagerSourceOptions {
  /** Secret name or ARN; its SecretString is the token set as a JSON object. */
  readonly secretId: string;
  /** Default: the SDK's chain (AWS_REGION, profile, IMDS). */
  readonly region?: string;
  /**
   * Explicit endpoint (LocalStack, VPC endpoint). Without it the SDK itself honours AWS_ENDPOINT_URL_SECRETS_MANAGER
   * and AWS_ENDPOINT_URL (checked in @smithy/core getEndpointUrlConfig: serviceId "Secrets Manager").
   */
  readonly endpoint?: string;
  /** SDK attempts per load, retries included; default the SDK's (3). The refresher retries on its interval. */
  readonly maxAttempts?: number;
}

/**
 * AWS Secrets Manager `GetSecretValue`, through the real SDK so credentials follow the standard chain
 * (env, shared files, web identity, ECS/EC2 metadata) and requests are SigV4-signed as AWS expects.
 */
export function createSecretsManagerSource(options: SecretsManagerSourceOptions): SecretSource {
  const config: SecretsManagerClientConfig = {
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  };
  const client = new SecretsManagerClient(config);
  const origin = `secretsmanager ${options.secretId}`;
  return Object.freeze({
    name: 'secretsmanager',
    async load(signal?: AbortSignal): Promise<unknown> {
      const secretString = await fetchSecretString(client, options.secretId, origin, signal);
      return parseJsonSecret(secretString, origin);
    },
    close(): void {
      client.destroy();
    },
  });
}

async function fetchSecretString(client: SecretsManagerClient, secretId: string, origin: string, signal?: AbortSignal): Promise<string> {
  let secretString: string | undefined;
  try {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }), signal ? { abortSignal: signal } : {});
    secretString = output.SecretString;
  } catch (error) {
    throw new SecretSourceError(`${origin}: ${describeAwsError(error)}`, { cause: error });
  }
  if (secretString === undefined) throw new SecretSourceError(`${origin}: secret has no SecretString (binary secrets are not supported)`);
  return secretString;
}

// AWS error names and messages describe the failure ("ResourceNotFoundException: Secrets Manager can't find
// the specified secret."), never the secret value, which only a successful response carries.
function describeAwsError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${error.name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${error.message.slice(0, 200)}`;
}
