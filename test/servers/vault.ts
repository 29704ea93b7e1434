import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Vault answering the AWS secrets engine's credential endpoints,
 * GET /v1/<mount>/creds/<role> and /v1/<mount>/sts/<role> with X-Vault-Token
 * (https://developer.hashicorp.com/vault/api-docs/secret/aws#generate-credentials).
 */
export interface VaultCall {
  readonly path: string;
  readonly token: string | undefined;
  readonly ttl: string | null;
}

export interface FakeVault {
  readonly url: URL;
  readonly calls: VaultCall[];
  /** `ok`, or `down` (HTTP 503, as a sealed Vault answers). */
  mode: 'ok' | 'down';
  leaseSeconds: number;
  close(): Promise<void>;
}

export async function startFakeVault(options: { token: string; mount: string; role: string; leaseSeconds: number }): Promise<FakeVault> {
  const calls: VaultCall[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://vault');
    const token = req.headers['x-vault-token'];
    calls.push({ path: url.pathname, token: typeof token === 'string' ? token : undefined, ttl: url.searchParams.get('ttl') });
    const isKnownPath =
      url.pathname === `/v1/${options.mount}/creds/${options.role}` || url.pathname === `/v1/${options.mount}/sts/${options.role}`;
    if (vault.mode === 'down') return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":["Vault is sealed"]}');
    if (token !== options.token)
      return void res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":["permission denied"]}');
    if (!isKnownPath) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}');
    const n = calls.length;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        request_id: `req-${n}`,
        lease_id: `${options.mount}/creds/${options.role}/lease-${n}`,
        renewable: false,
        lease_duration: vault.leaseSeconds,
        data: { access_key: `ASIAVAULT${n}`, secret_key: `vault-secret-${n}`, security_token: `vault-session-${n}` },
        warnings: null,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const vault: FakeVault = {
    url: new URL(`http://127.0.0.1:${port}`),
    calls,
    mode: 'ok',
    leaseSeconds: options.leaseSeconds,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return vault;
}
