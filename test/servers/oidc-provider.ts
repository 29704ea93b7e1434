import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID Provider (panva/oidc-provider v9) on 127.0.0.1:0, for discovery and client-credentials
 * tokens. Access tokens are JWTs (RFC 9068) for the resource `urn:scopegate`, with audience `audience`,
 * and carry the client's `roles` and `tenant_id` through `extraTokenClaims`.
 */
export interface OidcClientSpec {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly roles: readonly string[];
  readonly tenant?: string;
}

export interface OidcTestProvider {
  readonly issuer: string;
  /** Requests served, by path, so tests can see discovery and JWKS fetches. */
  readonly requests: readonly string[];
  /** client_credentials grant (RFC 6749 §4.4); returns the access token. */
  getClientToken(clientId: string, clientSecret: string): Promise<string>;
  close(): Promise<void>;
}

export const RESOURCE = 'urn:scopegate';

export async function startOidcProvider(options: { clients: readonly OidcClientSpec[]; audience: string }): Promise<OidcTestProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: 'oidc-test-1', alg: 'RS256', use: 'sig' };
  const byClient = new Map(options.clients.map((c) => [c.clientId, c]));
  const requests: string[] = [];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingJwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: 'read',
          audience: options.audience,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: { ClientCredentials: 300 },
    extraTokenClaims: async (_ctx, token) => {
      const spec = byClient.get(token.clientId ?? '');
      return spec === undefined ? undefined : { roles: [...spec.roles], ...(spec.tenant ? { tenant_id: spec.tenant } : {}) };
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    requests.push(new URL(req.url ?? '/', issuer).pathname);
    void callback(req, res);
  });

  return {
    issuer,
    requests,
    async getClientToken(clientId, clientSecret) {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource: RESOURCE }),
      });
      const body = (await response.json()) as { access_token?: string; error?: string };
      if (body.access_token === undefined) throw new Error(`token request failed: ${response.status} ${body.error ?? ''}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
