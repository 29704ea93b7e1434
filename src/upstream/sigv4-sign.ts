import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from './aws-credentials/credentials.js';
import { hashPayloadHex, NodeSha256 } from './node-sha256.js';
import { canonicaliseQuery, partitionHeaders } from './sigv4-canonical.js';

// SigV4 through smithy's SignatureV4. `createSigner` (sigv4.ts) imports this file when an upstream is configured
// with `sign`, so a gateway without signed upstreams never loads smithy.

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
