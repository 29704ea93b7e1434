import { stat } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { configSchema, type Config } from '../config/config.js';
import { describeReadError, formatIssues, readConfigDocument } from '../config/load.js';
import { listenerTlsSchema, upstreamTlsSchema } from '../config/sections/core.js';
import {
  aclSchema,
  basicAuthSchema,
  hmacJwtSchema,
  jwksSchema,
  type AclSection,
  type BasicAuthSection,
  type HmacJwtSection,
  type JwksSection,
} from '../config/sections/auth.js';
import { fileSectionSchema, staticTokensSectionSchema } from '../config/sections/secrets.js';
import { signSchema, type SignConfig } from '../config/sections/sign.js';
import { assertSecretLength } from '../identity/hmac-jwt.js';
import { parseJwks } from '../identity/jwks-source.js';
import { parseUsersFile } from '../identity/users-file.js';
import { parseAcl } from '../policy/acl.js';
import { createFileSource } from '../secrets/file.js';
import { parseTokenSet, TokenSetError } from '../identity/token-set.js';
import { findKeyPairProblem, findPemProblem, type PemKind } from '../upstream/tls.js';

type ListenerTls = z.output<typeof listenerTlsSchema>;
type UpstreamTls = z.output<typeof upstreamTlsSchema>;

/**
 * The parts of a configuration whose files and secrets `check-config` checks: from a valid config, or, when the
 * schema refused the document, from every section that is valid on its own (so a typo elsewhere does not hide
 * a missing file).
 */
export interface CheckedParts {
  readonly tokenFile?: { readonly path: string; readonly watch: boolean; readonly policyLabel: string } | undefined;
  readonly basic?: BasicAuthSection | undefined;
  readonly hmac?: HmacJwtSection | undefined;
  readonly jwks?: JwksSection | undefined;
  readonly acl?: AclSection | undefined;
  /** `[auth.grafana] api_token_file`: the teams API token. */
  readonly grafanaTokenFile?: string | undefined;
  readonly listenerTls?: ListenerTls | undefined;
  /** By index in `proxy.upstreams`. */
  readonly upstreams: readonly { readonly tls?: UpstreamTls | undefined; readonly sign?: SignConfig | undefined }[];
}

/**
 * `check-config`: every problem of the file at once — the schema's, then those of each file and secret it
 * names, checked by the parsers and constructors `serve` runs (token set, users, ACL, JWKS, HMAC secret length,
 * PEM files through Node's TLS). Read, env and syntax errors stop early (a ConfigError): there is no document.
 */
export async function checkConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const document = await readConfigDocument(path, env);
  const result = configSchema.safeParse(document);
  const problems = result.success ? [] : formatIssues(result.error.issues);
  const parts = result.success ? partsOfConfig(result.data) : partsOfDocument(document);
  return [...problems, ...(await checkReferencedFiles(parts))];
}

export function partsOfConfig(config: Config): CheckedParts {
  return {
    tokenFile:
      config.backend_type === 'file' && config.file !== undefined
        ? { path: config.file.path, watch: config.file.watch, policyLabel: config.static_tokens.policy_label }
        : undefined,
    basic: config.auth.basic,
    hmac: config.auth.hmac_jwt,
    jwks: config.auth.jwks,
    acl: config.acl,
    grafanaTokenFile: config.auth.grafana?.api_token_file,
    listenerTls: config.proxy.tls,
    upstreams: config.proxy.upstreams.map((u) => ({ tls: u.tls, sign: u.sign })),
  };
}

function partsOfDocument(document: unknown): CheckedParts {
  const root = asRecord(document);
  const auth = asRecord(root.auth);
  const proxy = asRecord(root.proxy);
  const file = root.backend_type === 'file' ? validOrUndefined(fileSectionSchema, root.file) : undefined;
  const staticTokens = validOrUndefined(staticTokensSectionSchema, root.static_tokens ?? {});
  return {
    tokenFile:
      file !== undefined ? { path: file.path, watch: file.watch, policyLabel: staticTokens?.policy_label ?? 'namespace' } : undefined,
    basic: validOrUndefined(basicAuthSchema, auth.basic),
    hmac: validOrUndefined(hmacJwtSchema, auth.hmac_jwt),
    jwks: validOrUndefined(jwksSchema, auth.jwks),
    acl: validOrUndefined(aclSchema, root.acl),
    listenerTls: validOrUndefined(listenerTlsSchema, proxy.tls),
    upstreams: (Array.isArray(proxy.upstreams) ? (proxy.upstreams as unknown[]) : []).map((u) => {
      const upstream = asRecord(u);
      return { tls: validOrUndefined(upstreamTlsSchema, upstream.tls), sign: validOrUndefined(signSchema, upstream.sign) };
    }),
  };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function validOrUndefined<S extends z.ZodType>(schema: S, value: unknown): z.output<S> | undefined {
  if (value === undefined) return undefined;
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

interface Check {
  readonly key: string;
  readonly path: string | undefined;
  /** Resolves with nothing, or throws; a TokenSetError's problems are listed one per line. */
  readonly run: () => Promise<void>;
}

/**
 * What `check-config` adds to the schema: every local file the config names is read and parsed by the parser
 * `serve` uses, so a missing users file or a bad ACL is found before a deploy, not at start-up. Network
 * sources (Secrets Manager, JWKS/OIDC URLs, Vault, STS) are not contacted. Secret files (HMAC secret, client
 * secrets, Vault and web-identity tokens) are checked for being readable and non-empty, the HMAC secret for its
 * length; their content is never printed. Paths are relative to the working directory, as `serve` reads them.
 */
export async function checkReferencedFiles(parts: CheckedParts): Promise<string[]> {
  const checks: Check[] = [];
  const onFile = (key: string, path: string, run: (path: string) => Promise<void>) => checks.push({ key, path, run: () => run(path) });
  if (parts.tokenFile !== undefined) {
    const { path, watch, policyLabel } = parts.tokenFile;
    onFile('file.path', path, async () => {
      if (watch) await checkWatchedFolder(path);
      parseTokenSet(await createFileSource({ path }).load(), { authenticator: 'static-token', policyLabel });
    });
  }
  const { basic, hmac, jwks, acl } = parts;
  if (basic !== undefined) {
    onFile(
      'auth.basic.users_file',
      basic.users_file,
      async (path) => void parseUsersFile(await readText(path), { policyLabel: basic.policy_label }),
    );
  }
  if (hmac?.secret_file !== undefined) {
    onFile('auth.hmac_jwt.secret_file', hmac.secret_file, async (path) => checkHmacSecret((await readText(path)).trim(), hmac));
  } else if (hmac?.secret !== undefined) {
    const secret = hmac.secret;
    checks.push({ key: 'auth.hmac_jwt.secret', path: undefined, run: () => Promise.resolve(checkHmacSecret(secret, hmac)) });
  }
  if (jwks?.file !== undefined) onFile('auth.jwks.file', jwks.file, async (path) => void parseJwks(await readText(path)));
  if (acl !== undefined) onFile('acl.file', acl.file, async (path) => void parseAcl(await readText(path), { label: acl.label }));
  if (parts.grafanaTokenFile !== undefined) onFile('auth.grafana.api_token_file', parts.grafanaTokenFile, checkSecretFile);
  const listenerTls = parts.listenerTls;
  if (listenerTls !== undefined) {
    checks.push(...tlsChecks('proxy.tls', { cert: listenerTls.cert_file, key: listenerTls.key_file, ca: listenerTls.client_ca_file }));
  }
  parts.upstreams.forEach((upstream, i) => {
    const tls = upstream.tls;
    if (tls !== undefined)
      checks.push(...tlsChecks(`proxy.upstreams[${i}].tls`, { cert: tls.cert_file, key: tls.key_file, ca: tls.ca_file }));
    const credentials = upstream.sign?.credentials;
    const key = `proxy.upstreams[${i}].sign.credentials`;
    if (credentials?.type === 'web_identity') onFile(`${key}.token_file`, credentials.token_file, checkSecretFile);
    if (credentials?.type === 'oidc' && credentials.client_secret_file !== undefined) {
      onFile(`${key}.client_secret_file`, credentials.client_secret_file, checkSecretFile);
    }
    if (credentials?.type === 'vault' && credentials.token_file !== undefined)
      onFile(`${key}.token_file`, credentials.token_file, checkSecretFile);
  });

  const results = await Promise.all(
    checks.map(async ({ key, path, run }) => {
      try {
        await run();
        return [];
      } catch (error) {
        const messages = error instanceof TokenSetError ? error.problems : [error instanceof Error ? error.message : String(error)];
        // Parsers that read a path already name it; say it once.
        return messages.map((message) => `${key}: ${path === undefined || message.startsWith(path) ? message : `${path}: ${message}`}`);
      }
    }),
  );
  return results.flat();
}

/** The certificate, key and CA of one TLS section, each parsed by Node's TLS, then the key against the certificate. */
function tlsChecks(section: string, files: Partial<Record<PemKind, string | undefined>>): Check[] {
  const fileKey: Record<PemKind, string> = {
    cert: `${section}.cert_file`,
    key: `${section}.key_file`,
    ca: section === 'proxy.tls' ? `${section}.client_ca_file` : `${section}.ca_file`,
  };
  const checks: Check[] = [];
  for (const kind of ['cert', 'key', 'ca'] as const) {
    const path = files[kind];
    if (path === undefined) continue;
    checks.push({ key: fileKey[kind], path, run: async () => throwIfProblem(findPemProblem(await readText(path), kind)) });
  }
  const { cert, key } = files;
  if (cert !== undefined && key !== undefined) {
    checks.push({
      key: fileKey.key,
      path: key,
      run: async () => {
        // Unreadable or unparsable files are reported by their own checks above.
        const [certText, keyText] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]).catch(() => [undefined, undefined]);
        if (certText === undefined || keyText === undefined) return;
        if (findPemProblem(certText, 'cert') !== undefined || findPemProblem(keyText, 'key') !== undefined) return;
        throwIfProblem(findKeyPairProblem(certText, keyText));
      },
    });
  }
  return checks;
}

function throwIfProblem(problem: string | undefined): void {
  if (problem !== undefined) throw new Error(problem);
}

function checkHmacSecret(secret: string, hmac: HmacJwtSection): void {
  if (secret === '') throw new Error('is empty');
  assertSecretLength(new TextEncoder().encode(secret), hmac.algorithms);
}

/** `serve` watches the token file's folder: a folder that is not there fails its start. */
async function checkWatchedFolder(path: string): Promise<void> {
  const folder = dirname(path);
  const isFolder = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new Error(`cannot watch its folder ${folder} (ENOENT): create the folder, or set file.watch = false`);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(describeReadError(error), { cause: error });
  }
}

async function checkSecretFile(path: string): Promise<void> {
  if ((await readText(path)).trim() === '') throw new Error('is empty');
}
