import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the next GetSecretValue answers: the secret string, or a failure the SDK must handle. */
export type SecretsManagerFailure = 'not-found' | 'throttling' | 'internal-error';

export interface FakeSecretsManager {
  /** Base URL for `endpoint` / AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly url: string;
  /** GetSecretValue calls received (retries included). */
  readonly calls: number;
  /** Sets the secret's value (a new VersionId, as a rotation does). */
  setSecret(secretId: string, value: string): void;
  /** Makes every call fail this way until `fail(undefined)`. */
  fail(failure: SecretsManagerFailure | undefined): void;
  /** Headers of the last call (to check SigV4 signing reached us). */
  readonly lastHeaders: IncomingMessage['headers'] | undefined;
  stop(): Promise<void>;
}

const FAILURES: Record<SecretsManagerFailure, { status: number; type: string; message: string }> = {
  'not-found': { status: 400, type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
  throttling: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
  'internal-error': { status: 500, type: 'InternalServiceError', message: 'An error occurred on the server side.' },
};

/**
 * A local Secrets Manager speaking the awsJson1_1 protocol: POST /, `X-Amz-Target: secretsmanager.<Op>`,
 * `Content-Type: application/x-amz-json-1.1`; errors as `{__type, message}`. Only GetSecretValue.
 */
export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { value: string; version: number }>();
  const state = {
    calls: 0,
    failure: undefined as SecretsManagerFailure | undefined,
    lastHeaders: undefined as IncomingMessage['headers'] | undefined,
  };

  function answer(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
      answer(res, 400, { __type: 'UnknownOperationException', message: 'only GetSecretValue is supported' });
      return;
    }
    state.calls += 1;
    state.lastHeaders = req.headers;
    if (state.failure) {
      const failure = FAILURES[state.failure];
      answer(res, failure.status, { __type: failure.type, message: failure.message });
      return;
    }
    const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
    const secret = secrets.get(SecretId);
    if (!secret) {
      answer(res, 400, { __type: 'ResourceNotFoundException', message: FAILURES['not-found'].message });
      return;
    }
    answer(res, 200, {
      ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${SecretId}-AbCdEf`,
      Name: SecretId,
      SecretString: secret.value,
      VersionId: `00000000-0000-0000-0000-${String(secret.version).padStart(12, '0')}`,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_700_000_000 + secret.version,
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => answer(res, 500, { __type: 'InternalServiceError', message: 'fake server error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return state.calls;
    },
    get lastHeaders() {
      return state.lastHeaders;
    },
    setSecret(secretId, value) {
      secrets.set(secretId, { value, version: (secrets.get(secretId)?.version ?? 0) + 1 });
    },
    fail(failure) {
      state.failure = failure;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
