import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
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
import { hashPayloadHex, NodeSha256 } from './node-sha256.js';
import { canonicaliseQuery, partitionHeaders } from './sigv4-canonical.js';

/** `UNSIGNED-PAYLOAD`: the body is not covered (SigV4 spec, "payload hash"); only where the service accepts it. */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** The request exactly as it will leave, after every rewrite. */
export interface SignableRequest {
  readonly method: string;
  /** Final upstream URL including the query. */
  readonly url: URL;
  /** Final outgoing headers, lower-case names, hop-by-hop headers already removed. */
  readonly headers: Readonly<Record<string, string>>;
  /** The whole body; `undefined` = no body; `'streamed'` = a body that will be streamed unbuffered. */
  readonly body: Buffer | 'streamed' | undefined;
}

/** What to send instead: the query re-encoded canonically, and the complete header set (signature included). */
export interface SignedRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
}

export interface SignParams {
  /** From `createSmithySigner`; reuse it while the credentials stay the same (it caches the signing key). */
  readonly signer: SignatureV4;
  readonly signingDate: Date;
  readonly isPayloadUnsigned: boolean;
}

/** For every service but S3 the path is URI-encoded a second time (smithy `uriEscapePath`), as SigV4 requires. */
export function createSmithySigner(service: string, region: string, credentials: AwsCredentials): SignatureV4 {
  return new SignatureV4({ service, region, credentials, sha256: NodeSha256, uriEscapePath: service !== 's3' });
}

/**
 * Signs one request with SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 * Signs the upstream host (not the client's Host), every end-to-end header, the canonical query and the
 * body's SHA-256. The path passed in is the wire path, already encoded once; the signer encodes it again.
 */
export async function signRequest(req: SignableRequest, params: SignParams): Promise<SignedRequest> {
  const { url, query } = canonicaliseQuery(req.url);
  const { signed, passed } = partitionHeaders(req.headers);
  const body = req.body === 'streamed' ? undefined : req.body;
  signed.host = url.host;
  signed['x-amz-content-sha256'] = params.isPayloadUnsigned ? UNSIGNED_PAYLOAD : hashPayloadHex(body ?? Buffer.alloc(0));
  const request = new HttpRequest({
    method: req.method.toUpperCase(),
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: url.pathname,
    query,
    headers: signed,
  });
  const result = await params.signer.sign(request, { signingDate: params.signingDate });
  return { url, headers: { ...passed, ...(result.headers as Record<string, string>) } };
}

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

/** The signer of one upstream: its credential source behind a background refresher, and `signRequest`. */
export function createSigner(options: SignerOptions, deps: SignerDeps): Signer {
  const { sign: config } = options;
  const provider = deps.provider ?? createCredentialProvider(config.credentials, config.region, deps);
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
