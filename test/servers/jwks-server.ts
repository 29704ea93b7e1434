import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';

/** A signing key pair with its public JWK, as an IdP would hold it. */
export interface TestKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function createTestKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/**
 * A JWKS endpoint on 127.0.0.1:0 that counts its requests and can be switched to failing, so tests can
 * assert how often the gateway fetched (rate limit) and what it does during an outage.
 */
export interface JwksServer {
  readonly url: string;
  /** Requests received so far. */
  readonly requestCount: number;
  setKeys(keys: readonly TestKey[]): void;
  /** While true, every request answers 503. */
  setFailing(failing: boolean): void;
  close(): Promise<void>;
}

export async function startJwksServer(initialKeys: readonly TestKey[]): Promise<JwksServer> {
  let keys = initialKeys;
  let failing = false;
  let count = 0;
  const server = createServer((_req, res) => {
    count += 1;
    if (failing) {
      res.writeHead(503).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get requestCount() {
      return count;
    },
    setKeys: (next) => {
      keys = next;
    },
    setFailing: (next) => {
      failing = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
