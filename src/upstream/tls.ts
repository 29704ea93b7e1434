import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { UpstreamConfig } from '../config/config.js';
import { ConfigError } from '../config/load.js';

/**
 * Reads a PEM file named by the config. Done when an app is built (start and every reload), so a rotated
 * certificate is picked up by a reload, and a missing file is a config error naming the key.
 */
export function readTlsFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('tls', [`${key}: ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'read error'})`]);
  }
}

/** undici `connect` options for an upstream's `tls` section (nothing for plain defaults). */
export function upstreamTlsOptions(config: UpstreamConfig): ConnectionOptions {
  const tls = config.tls;
  if (tls === undefined) return {};
  const key = (name: string) => `upstream ${config.name ?? config.upstream.host}: tls.${name}`;
  return {
    ...(tls.ca_file !== undefined ? { ca: readTlsFile(tls.ca_file, key('ca_file')) } : {}),
    ...(tls.cert_file !== undefined ? { cert: readTlsFile(tls.cert_file, key('cert_file')) } : {}),
    ...(tls.key_file !== undefined ? { key: readTlsFile(tls.key_file, key('key_file')) } : {}),
    ...(tls.server_name !== undefined ? { servername: tls.server_name } : {}),
    ...(tls.insecure_skip_verify ? { rejectUnauthorized: false } : {}),
  };
}
