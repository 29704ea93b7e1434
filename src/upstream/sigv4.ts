import type { SignatureV4 } from '@smithy/signature-v4';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { SignConfig } from '../config/sections/sign.js';
import type { Clock } from '../core/clock.js';
import { ServiceUnavailable } from '../core/http-errors.js';
import type { ReadinessCheck } from '../core/readiness.js';
import { createCredentialProvider } from './aws-credentials/create-provider.js';
import type { AwsCredentials, CredentialProvider } from './aws-credentials/credentials.js';
import type { AwsCredentialMetrics, RefreshResult } from './aws-credentials/metrics.js';
import { createCredentialRefresher, type CredentialRefresher } from './aws-credentials/refresher.js';
import type { Scheduler } from './aws-credentials/scheduler.js';
import type { SignableRequest, SignedRequest } from './sigv4-sign.js';

export type { SignableRequest, SignedRequest } from './sigv4-sign.js';

export interface SignerOptions {
  /** Upstream name, for metrics, logs and the readiness check. */
  readonly upstream: string;
  readonly sign: SignConfig;
}

export interface SignerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Made once per app with `createAwsCredentialMetrics(registry, clock.now)`, shared by every signer. */
  readonly metrics?: AwsCredentialMetrics;
  readonly scheduler?: Scheduler;
  /** For Vault and OIDC calls. */
  readonly dispatcher?: Dispatcher;
  /** Replaces the configured credential source (tests). */
  readonly provider?: CredentialProvider;
}

export interface Signer {
  /** True unless `unsigned_payload`: the forwarder must buffer bodies (up to its limit) before `sign`. */
  readonly requiresBufferedBody: boolean;
  /** Throws ServiceUnavailable (`aws_credentials_unavailable`) when no unexpired credentials remain. */
  sign(req: SignableRequest): Promise<SignedRequest>;
  readonly readiness: ReadinessCheck;
  readonly refresher: CredentialRefresher;
  /**
   * The first fetch from the credential source, started when the signer is made; resolves when it is done,
   * success or failure (never rejects, and is bounded by `fetch_timeout`). A new app waits on it, so a reload
   * judges the new configuration with its credentials loaded, not before they could arrive.
   */
  whenStarted(): Promise<RefreshResult>;
  close(): Promise<void>;
}

/**
 * The signer of one upstream: its credential source behind a background refresher, and `signRequest`. Smithy's
 * signer (and the AWS SDK where the credential source needs it) is imported here, when an upstream is configured
 * with `sign`, not when the gateway starts: a gateway without signed upstreams never pays its memory and load time.
 */
export async function createSigner(options: SignerOptions, deps: SignerDeps): Promise<Signer> {
  const { sign: config } = options;
  const { createSmithySigner, signRequest } = await import('./sigv4-sign.js');
  const provider = deps.provider ?? (await createCredentialProvider(config.credentials, config.region, deps));
  const refresher = createCredentialRefresher(
    {
      upstream: options.upstream,
      provider,
      refreshBeforeMs: config.refresh_before,
      retryAfterFailureMs: config.retry_after_failure,
      fetchTimeoutMs: config.fetch_timeout,
      breaker: { failureThreshold: config.breaker.failure_threshold, openTimeoutMs: config.breaker.open_timeout },
    },
    deps,
  );
  const started = refresher.start();
  let cached: { credentials: AwsCredentials; signer: SignatureV4 } | undefined;
  const signerFor = (credentials: AwsCredentials): SignatureV4 => {
    if (cached?.credentials !== credentials) {
      cached = { credentials, signer: createSmithySigner(config.service, config.region, credentials) };
    }
    return cached.signer;
  };

  return {
    requiresBufferedBody: !config.unsigned_payload,
    readiness: refresher.readiness,
    refresher,
    whenStarted: () => started,
    async sign(req) {
      if (req.body === 'streamed' && !config.unsigned_payload) {
        // A programming error in the caller, not a client error: bodies must be buffered for this upstream.
        throw new Error(`upstream ${options.upstream}: a streamed body cannot be signed without unsigned_payload`);
      }
      const credentials = refresher.current();
      if (credentials === undefined) {
        throw new ServiceUnavailable('aws_credentials_unavailable', `no valid AWS credentials for upstream ${options.upstream}`);
      }
      return signRequest(req, {
        signer: signerFor(credentials),
        signingDate: new Date(deps.clock.now()),
        isPayloadUnsigned: config.unsigned_payload && req.body === 'streamed',
      });
    },
    close() {
      refresher.close();
      return Promise.resolve();
    },
  };
}
