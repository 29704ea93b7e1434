import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local OAuth 2.0 token endpoint for the client credentials grant (RFC 6749 §4.4), HTTP Basic client auth. */
export interface FakeTokenEndpoint {
  readonly url: URL;
  readonly grants: Array<{ grantType: string | null; audience: string | null; authorization: string | undefined }>;
  close(): Promise<void>;
}

export async function startFakeTokenEndpoint(options: {
  clientId: string;
  clientSecret: string;
  idToken: string;
}): Promise<FakeTokenEndpoint> {
  const grants: FakeTokenEndpoint['grants'] = [];
  const expected = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      grants.push({ grantType: form.get('grant_type'), audience: form.get('audience'), authorization: req.headers.authorization });
      if (req.headers.authorization !== expected)
        return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'opaque-access-token', id_token: options.idToken, token_type: 'Bearer', expires_in: 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/oauth2/token`),
    grants,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
