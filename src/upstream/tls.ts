import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { UpstreamConfig } from '../config/config.js';
import { ConfigError, describeReadError } from '../config/load.js';

/**
 * Reads a PEM file named by the config. Done when an app is built (start and every reload), so a rotated
 * certificate is picked up by a reload, and a missing file is a config error naming the key.
 */
export function readTlsFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('config', [`${key}: ${path}: ${describeReadError(error)}`]);
  }
}

/** What a PEM file is used as: `createSecureContext`'s option of the same name. */
export type PemKind = 'cert' | 'key' | 'ca';

const PEM_NAMES: Readonly<Record<PemKind, string>> = { cert: 'certificate', key: 'private key', ca: 'CA certificate' };

/**
 * Why Node's TLS would refuse `text` as a `kind`, or undefined. Parsed by `tls.createSecureContext` itself, so
 * `serve`, a reload and `check-config` refuse exactly the same files. (A `ca` without any certificate block is
 * silently ignored by Node, hence the extra check.)
 */
export function findPemProblem(text: string, kind: PemKind): string | undefined {
  if (kind === 'ca' && !text.includes('-----BEGIN CERTIFICATE-----')) return `holds no PEM ${PEM_NAMES.ca} (-----BEGIN CERTIFICATE-----)`;
  try {
    createSecureContext({ [kind]: text });
    return undefined;
  } catch (error) {
    return `not a usable PEM ${PEM_NAMES[kind]} (${(error as Error).message})`;
  }
}

/** Why a certificate and a private key cannot serve together (the key is not the certificate's), or undefined. */
export function findKeyPairProblem(cert: string, key: string): string | undefined {
  try {
    createSecureContext({ cert, key });
    return undefined;
  } catch (error) {
    return `does not match the certificate (${(error as Error).message})`;
  }
}

/** `readTlsFile`, then parsed as Node's TLS will use it; a bad file is a ConfigError naming the key and path. */
export function readPemFile(path: string, key: string, kind: PemKind): string {
  const text = readTlsFile(path, key);
  const problem = findPemProblem(text, kind);
  if (problem !== undefined) throw new ConfigError('config', [`${key}: ${path}: ${problem}`]);
  return text;
}

/** undici `connect` options for an upstream's `tls` section (nothing for plain defaults). */
export function upstreamTlsOptions(config: UpstreamConfig): ConnectionOptions {
  const tls = config.tls;
  if (tls === undefined) return {};
  const key = (name: string) => `upstream ${config.name ?? config.upstream.host}: tls.${name}`;
  return {
    ...(tls.ca_file !== undefined ? { ca: readPemFile(tls.ca_file, key('ca_file'), 'ca') } : {}),
    ...(tls.cert_file !== undefined ? { cert: readPemFile(tls.cert_file, key('cert_file'), 'cert') } : {}),
    ...(tls.key_file !== undefined ? { key: readPemFile(tls.key_file, key('key_file'), 'key') } : {}),
    ...(tls.server_name !== undefined ? { servername: tls.server_name } : {}),
    ...(tls.insecure_skip_verify ? { rejectUnauthorized: false } : {}),
  };
}
