import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import aws4 from 'aws4';
import { WebSocketServer } from 'ws';

/**
 * A local upstream that checks SigV4 with a second, independent implementation (the `aws4` package): it
 * recomputes the signature from the known secret over exactly what it received and compares. It also checks
 * what AWS checks besides the signature: the payload hash against the body, and the session token.
 */
export interface VerifierKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface VerifiedRequest {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly rawUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly accessKeyId: string | undefined;
  /** undefined = the signature is valid. */
  readonly rejection: string | undefined;
}

export interface Sigv4Verifier {
  readonly url: URL;
  readonly received: VerifiedRequest[];
  close(): Promise<void>;
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function verify(
  method: string,
  rawUrl: string,
  headers: Record<string, string>,
  body: Buffer,
  keys: readonly VerifierKey[],
  scope: { service: string; region: string },
): { accessKeyId?: string; rejection?: string } {
  const match = AUTH_PATTERN.exec(headers.authorization ?? '');
  if (!match) return { rejection: 'missing or malformed authorization header' };
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = match as unknown as string[];
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (!key) return { accessKeyId, rejection: 'unknown access key' };
  if (region !== scope.region || service !== scope.service) return { accessKeyId, rejection: 'wrong credential scope' };
  if (!headers['x-amz-date']?.startsWith(date ?? '')) return { accessKeyId, rejection: 'x-amz-date outside the credential scope' };
  if (key.sessionToken !== undefined && headers['x-amz-security-token'] !== key.sessionToken)
    return { accessKeyId, rejection: 'wrong session token' };
  const payloadHash = headers['x-amz-content-sha256'];
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== createHash('sha256').update(body).digest('hex')) {
    return { accessKeyId, rejection: 'payload hash does not match the body' };
  }
  const signedNames = (signedHeaderList ?? '').split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date'))
    return { accessKeyId, rejection: 'host and x-amz-date must be signed' };
  const signedHeaders = Object.fromEntries(signedNames.map((name) => [name, headers[name] ?? '']));
  // No body and no session token go to aws4, so it adds no header of its own and takes x-amz-date and the
  // payload hash from what was received (the hash was checked against the body above).
  const recomputed = aws4.sign(
    { method, path: rawUrl, headers: signedHeaders, service: scope.service, region: scope.region },
    { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(recomputed.headers?.Authorization ?? ''))?.[1] ?? '';
  const isValid = expected.length === 64 && timingSafeEqual(Buffer.from(expected), Buffer.from(signature ?? ''));
  return isValid ? { accessKeyId } : { accessKeyId, rejection: 'signature mismatch' };
}

/** Starts the verifier on 127.0.0.1:0. It answers 200 when the signature holds, else 403 with the reason. */
export async function startSigv4Verifier(options: {
  keys: readonly VerifierKey[];
  service: string;
  region: string;
}): Promise<Sigv4Verifier> {
  const received: VerifiedRequest[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const headers = flattenHeaders(req);
      const rawUrl = req.url ?? '/';
      const method = req.method ?? 'GET';
      const { accessKeyId, rejection } = verify(method, rawUrl, headers, body, options.keys, options);
      received.push({ method, rawUrl, headers, body, accessKeyId, rejection });
      res.writeHead(rejection === undefined ? 200 : 403, { 'content-type': 'application/json' });
      res.end(JSON.stringify(rejection === undefined ? { status: 'success' } : { message: rejection }));
    });
  });
  // A WebSocket upgrade (Loki tail) is checked the same way before the handshake completes: 101 when the
  // signature holds, else 403 and the socket closed.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const headers = flattenHeaders(req);
    const rawUrl = req.url ?? '/';
    const { accessKeyId, rejection } = verify(req.method ?? 'GET', rawUrl, headers, Buffer.alloc(0), options.keys, options);
    received.push({ method: req.method ?? 'GET', rawUrl, headers, body: Buffer.alloc(0), accessKeyId, rejection });
    if (rejection !== undefined) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.send('{"streams":[]}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    received,
    close: () => {
      for (const client of wss.clients) client.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
