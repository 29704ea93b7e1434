import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { CredentialSourceError, type CredentialProvider } from './credentials.js';
import { requestJson } from './http-json.js';

export interface VaultCredentialsOptions {
  readonly address: string;
  readonly mount: string;
  readonly role: string;
  /** `creds`: /v1/<mount>/creds/<role>; `sts`: /v1/<mount>/sts/<role> (federation token / assumed role). */
  readonly endpoint: 'creds' | 'sts';
  readonly token?: string;
  /** Re-read on every refresh (Vault Agent rewrites it when it renews its own token). */
  readonly tokenFile?: string;
  readonly namespace?: string;
  readonly ttlMs?: number;
}

/** https://developer.hashicorp.com/vault/api-docs/secret/aws#generate-credentials */
const vaultAnswer = z.object({
  lease_duration: z.number().nonnegative(),
  data: z.object({
    access_key: z.string().min(1),
    secret_key: z.string().min(1),
    security_token: z.string().min(1).nullish(),
  }),
});

async function readVaultToken(options: VaultCredentialsOptions, signal: AbortSignal): Promise<string> {
  if (options.token !== undefined) return options.token;
  try {
    return (await readFile(options.tokenFile ?? '', { encoding: 'utf8', signal })).trim();
  } catch (error) {
    throw new CredentialSourceError('vault_token_unreadable', `cannot read the Vault token file ${options.tokenFile}`, { cause: error });
  }
}

/**
 * Vault's AWS secrets engine. Each refresh asks for a new lease; expiry is `lease_duration` after the answer
 * (a lease of 0 means Vault set no limit). The old lease is left to expire rather than revoked, so requests
 * signed with it in flight still succeed.
 */
export function createVaultCredentialProvider(
  options: VaultCredentialsOptions,
  deps: { clock: Clock; dispatcher?: Dispatcher },
): CredentialProvider {
  const url = new URL(
    `v1/${options.mount}/${options.endpoint}/${encodeURIComponent(options.role)}`,
    `${options.address.replace(/\/+$/, '')}/`,
  );
  if (options.ttlMs !== undefined) url.searchParams.set('ttl', `${Math.round(options.ttlMs / 1000)}s`);
  return {
    kind: 'vault',
    async fetchCredentials(signal) {
      const headers: Record<string, string> = { 'x-vault-token': await readVaultToken(options, signal) };
      if (options.namespace !== undefined) headers['x-vault-namespace'] = options.namespace;
      const body = await requestJson(
        url,
        { method: 'GET', headers, signal, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) },
        'vault',
      );
      const parsed = vaultAnswer.safeParse(body);
      if (!parsed.success)
        throw new CredentialSourceError('vault_bad_response', 'Vault answered without access_key/secret_key/lease_duration');
      const { data, lease_duration: leaseSeconds } = parsed.data;
      return {
        accessKeyId: data.access_key,
        secretAccessKey: data.secret_key,
        ...(data.security_token ? { sessionToken: data.security_token } : {}),
        ...(leaseSeconds > 0 ? { expiresAtMs: deps.clock.now() + leaseSeconds * 1000 } : {}),
      };
    },
  };
}
