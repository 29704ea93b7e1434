import { parseJsonSecret, SecretSourceError, type SecretSource } from './source.js';

export interface EnvSourceOptions {
  /** Variable holding a JSON token set; default `SCOPEGATE_TOKENS`. */
  readonly variable?: string;
  /** The environment to read; default `process.env` (tests pass their own). */
  readonly env?: NodeJS.ProcessEnv;
}

export const DEFAULT_TOKENS_VARIABLE = 'SCOPEGATE_TOKENS';
const SINGLE_TOKEN_PREFIX = 'SCOPEGATE_TOKEN_';

/**
 * Tokens from the environment, for containers: a JSON object in `SCOPEGATE_TOKENS`, and/or one variable per
 * token, `SCOPEGATE_TOKEN_<NAME>=<token>:<tenant>` (split at the last `:`, which a tenant id never holds), named
 * `<name>` in logs. The environment does not change while we run, so there is nothing to watch.
 */
export function createEnvSource(options: EnvSourceOptions = {}): SecretSource {
  const variable = options.variable ?? DEFAULT_TOKENS_VARIABLE;
  const env = options.env ?? process.env;
  return Object.freeze({
    name: 'env',
    load(): Promise<unknown> {
      return Promise.resolve().then(() => readEnvTokens(env, variable));
    },
  });
}

function readEnvTokens(env: NodeJS.ProcessEnv, variable: string): Record<string, unknown> {
  const json = env[variable];
  const tokens: Record<string, unknown> = {};
  if (json !== undefined && json.trim() !== '') {
    const parsed = parseJsonSecret(json, `$${variable}`);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new SecretSourceError(`$${variable}: must be a JSON object`);
    }
    Object.assign(tokens, parsed);
  }
  let singles = 0;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(SINGLE_TOKEN_PREFIX) || key === variable || value === undefined) continue;
    const cut = value.lastIndexOf(':');
    if (cut <= 0 || cut === value.length - 1) throw new SecretSourceError(`$${key}: expected <token>:<tenant>`);
    const token = value.slice(0, cut);
    if (token in tokens) throw new SecretSourceError(`$${key}: token already defined elsewhere`);
    tokens[token] = { tenant: value.slice(cut + 1), name: key.slice(SINGLE_TOKEN_PREFIX.length).toLowerCase() };
    singles += 1;
  }
  if (json === undefined && singles === 0) {
    throw new SecretSourceError(`no tokens in the environment: set $${variable} or ${SINGLE_TOKEN_PREFIX}<NAME>`);
  }
  return tokens;
}
