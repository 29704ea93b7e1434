import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from '../config/load.js';
import type { SecretsConfig } from '../config/sections/secrets.js';
import type { Clock } from '../core/clock.js';
import { createEnvSource } from './env.js';
import { createFileSource } from './file.js';
import type { SecretSource } from './source.js';

export interface TokenSourceDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock: Clock;
  /** Environment for the env backend; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Where the static token set comes from, and how often it is read again. */
export interface SourcePlan {
  readonly source: SecretSource;
  readonly refreshIntervalMs: number;
  readonly staleThresholdMs: number;
}

/** The file's folder is watched: a folder that is not there fails the start in one line naming the key. */
function reportMissingFolder(watch: SecretSource['watch'], path: string): SecretSource['watch'] {
  if (watch === undefined) return undefined;
  return (onChange) => {
    try {
      return watch(onChange);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError('config', [
        `file.path: ${path}: cannot watch its folder ${dirname(path)} (${code}): create the folder, or set file.watch = false`,
      ]);
    }
  };
}

/**
 * The configured secret source of the static token set, or `undefined` when `backend_type` is not set. The AWS
 * SDK client is imported only for `secretsmanager`: the other backends never pay its memory and load time.
 */
export async function planTokenSource(config: SecretsConfig, deps: Pick<TokenSourceDeps, 'env'>): Promise<SourcePlan | undefined> {
  switch (config.backend_type) {
    case undefined:
      return undefined;
    case 'secretsmanager': {
      const section = required(config.secretsmanager, 'secretsmanager');
      const { createSecretsManagerSource } = await import('./aws-secrets-manager.js');
      const source = createSecretsManagerSource({
        secretId: section.secret_id,
        ...(section.region !== undefined ? { region: section.region } : {}),
        ...(section.endpoint !== undefined ? { endpoint: section.endpoint } : {}),
        ...(section.max_attempts !== undefined ? { maxAttempts: section.max_attempts } : {}),
      });
      return { source, refreshIntervalMs: section.refresh_interval, staleThresholdMs: section.stale_threshold };
    }
    case 'file': {
      const section = required(config.file, 'file');
      const fileSource = createFileSource({ path: section.path });
      const load = (signal?: AbortSignal) => fileSource.load(signal);
      const watch = section.watch ? reportMissingFolder(fileSource.watch, section.path) : undefined;
      const source: SecretSource = { name: fileSource.name, load, ...(watch !== undefined ? { watch } : {}) };
      return { source, refreshIntervalMs: section.refresh_interval, staleThresholdMs: section.stale_threshold };
    }
    case 'env': {
      const source = createEnvSource({
        ...(config.env?.variable !== undefined ? { variable: config.env.variable } : {}),
        ...(deps.env !== undefined ? { env: deps.env } : {}),
      });
      // The environment cannot change while we run: load once, never stale.
      return { source, refreshIntervalMs: 0, staleThresholdMs: Number.POSITIVE_INFINITY };
    }
  }
}

function required<T>(section: T | undefined, key: string): T {
  // The schema's refinement already guarantees this; the check keeps an unvalidated config from crashing later.
  if (section === undefined) throw new Error(`[${key}] section is required for backend_type = "${key}"`);
  return section;
}
