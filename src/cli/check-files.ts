import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import { parseJwks } from '../identity/jwks-source.js';
import { parseUsersFile } from '../identity/users-file.js';
import { parseAcl } from '../policy/acl.js';
import { createFileSource } from '../secrets/file.js';
import { parseTokenSet } from '../secrets/token-set.js';

/**
 * What `check-config` adds to the schema: every local file the config names is read and parsed by the parser
 * `serve` uses, so a missing users file or a bad ACL is found before a deploy, not at start-up. Network
 * sources (Secrets Manager, JWKS/OIDC URLs, Vault, STS) are not contacted. Secret files (HMAC secret, client
 * secrets, Vault and web-identity tokens) are checked for being readable and non-empty, TLS files for being PEM;
 * their content is never printed. Paths are relative to the working directory, as `serve` reads them.
 */
export async function checkReferencedFiles(config: Config): Promise<string[]> {
  const checks: { key: string; path: string; check: (path: string) => Promise<void> }[] = [];
  if (config.backend_type === 'file' && config.file !== undefined) {
    const policyLabel = config.static_tokens.policy_label;
    checks.push({
      key: 'file.path',
      path: config.file.path,
      check: async (path) => {
        parseTokenSet(await createFileSource({ path }).load(), { authenticator: 'static-token', policyLabel });
      },
    });
  }
  const { basic, hmac_jwt: hmac, jwks } = config.auth;
  if (basic !== undefined) {
    checks.push({ key: 'auth.basic.users_file', path: basic.users_file, check: async (path) => void parseUsersFile(await readText(path), { policyLabel: basic.policy_label }) });
  }
  if (hmac?.secret_file !== undefined) checks.push({ key: 'auth.hmac_jwt.secret_file', path: hmac.secret_file, check: checkSecretFile });
  if (jwks?.file !== undefined) checks.push({ key: 'auth.jwks.file', path: jwks.file, check: async (path) => void parseJwks(await readText(path)) });
  if (config.acl !== undefined) {
    const label = config.acl.label;
    checks.push({ key: 'acl.file', path: config.acl.file, check: async (path) => void parseAcl(await readText(path), { label }) });
  }
  const listenerTls = config.proxy.tls;
  if (listenerTls !== undefined) {
    checks.push({ key: 'proxy.tls.cert_file', path: listenerTls.cert_file, check: checkPemFile });
    checks.push({ key: 'proxy.tls.key_file', path: listenerTls.key_file, check: checkPemFile });
    if (listenerTls.client_ca_file !== undefined) checks.push({ key: 'proxy.tls.client_ca_file', path: listenerTls.client_ca_file, check: checkPemFile });
  }
  config.proxy.upstreams.forEach((upstream, i) => {
    for (const name of ['ca_file', 'cert_file', 'key_file'] as const) {
      const path = upstream.tls?.[name];
      if (path !== undefined) checks.push({ key: `proxy.upstreams[${i}].tls.${name}`, path, check: checkPemFile });
    }
    const credentials = upstream.sign?.credentials;
    const key = `proxy.upstreams[${i}].sign.credentials`;
    if (credentials?.type === 'web_identity') checks.push({ key: `${key}.token_file`, path: credentials.token_file, check: checkSecretFile });
    if (credentials?.type === 'oidc' && credentials.client_secret_file !== undefined) {
      checks.push({ key: `${key}.client_secret_file`, path: credentials.client_secret_file, check: checkSecretFile });
    }
    if (credentials?.type === 'vault' && credentials.token_file !== undefined) {
      checks.push({ key: `${key}.token_file`, path: credentials.token_file, check: checkSecretFile });
    }
  });

  const results = await Promise.all(
    checks.map(async ({ key, path, check }) => {
      try {
        await check(path);
        return undefined;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // Parsers that read a path already name it; say it once.
        return `${key}: ${message.startsWith(path) ? message : `${path}: ${message}`}`;
      }
    }),
  );
  return results.filter((problem): problem is string => problem !== undefined);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read (${(error as NodeJS.ErrnoException).code ?? 'read error'})`, { cause: error });
  }
}

async function checkSecretFile(path: string): Promise<void> {
  if ((await readText(path)).trim() === '') throw new Error('is empty');
}

async function checkPemFile(path: string): Promise<void> {
  if (!(await readText(path)).includes('-----BEGIN ')) throw new Error('is not PEM');
}
