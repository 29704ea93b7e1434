import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { Unauthorized } from '../core/http-errors.js';
import type { Authenticator, BasicCredential, Credentials } from './authenticator.js';
import { createIdentity } from './identity.js';
import type { Identity } from './identity.js';
import { ExpiringCache, digestKey } from './expiring-cache.js';
import { createDummyPassword, verifyPassword } from './password-hash.js';
import type { StoredPassword } from './password-hash.js';
import { parseUsersFile } from './users-file.js';
import type { UserEntry, UsersFileOptions } from './users-file.js';

export interface BasicAuthOptions extends UsersFileOptions {
  readonly name?: string;
  readonly usersFile: string;
  /** Watch the file's folder (fs.watch) and reload after `debounceMs` of quiet. */
  readonly watch?: boolean;
  readonly debounceMs?: number;
  /** Also re-read on an interval (0 = never); for filesystems where fs.watch is unreliable. */
  readonly reloadIntervalMs?: number;
  /** How long a verified (username, password) pair is remembered; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  readonly cacheMaxEntries?: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface BasicAuthenticator extends Authenticator {
  /** Re-reads the users file; false (and the last good users kept) when it is broken. */
  reload(): Promise<boolean>;
  close(): void;
}

interface UsersSnapshot {
  readonly users: ReadonlyMap<string, UserEntry>;
  readonly dummy: StoredPassword;
  readonly digest: string;
}

// RFC 7617 §2: the challenge a client needs to retry with Basic credentials.
const CHALLENGE = 'Basic realm="scopegate", charset="UTF-8"';

/**
 * HTTP Basic against a users file (prometheus-multi-tenant-proxy's shape, see users-file.ts).
 * Not mine: no Basic credentials. An unknown user is checked against a dummy hash of the same cost and gets
 * the very same error as a wrong password (`invalid_credentials`), so neither timing nor answer tells which
 * usernames exist. The first load must succeed (throws); later broken files are logged and ignored.
 */
export async function createBasicAuthenticator(options: BasicAuthOptions): Promise<BasicAuthenticator> {
  const name = options.name ?? 'basic';
  const cache = new ExpiringCache<Identity>({ maxEntries: options.cacheMaxEntries ?? 1000, clock: options.clock });
  const first = await loadSnapshot(options, undefined);
  if (first === undefined) throw new Error('users file: first load returned nothing');
  let snapshot: UsersSnapshot = first;

  async function reload(): Promise<boolean> {
    try {
      const next = await loadSnapshot(options, snapshot.digest);
      if (next === undefined) return true;
      snapshot = next;
      cache.clear();
      options.logger.info({ authenticator: name, users: next.users.size }, 'users file reloaded');
      return true;
    } catch (error) {
      options.logger.error({ authenticator: name, err: errorMessage(error) }, 'users file is invalid; keeping the last good users');
      return false;
    }
  }

  async function check(basic: BasicCredential): Promise<Identity> {
    const key = digestKey(basic.username, basic.password);
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const current = snapshot;
    const user = current.users.get(basic.username);
    const isValid = await verifyPassword(user?.password ?? current.dummy, basic.password);
    if (user === undefined || !isValid) throw new Unauthorized('invalid_credentials', 'invalid username or password', CHALLENGE);
    const identity = createIdentity({ subject: user.username, tenants: user.tenants, policy: user.policy, authenticator: name });
    cache.set(key, identity, options.clock.now() + (options.cacheTtlMs ?? 60_000));
    return identity;
  }

  const stopWatching = startWatching(options, reload);
  return {
    name,
    authenticate: (credentials: Credentials) => (credentials.basic === undefined ? undefined : check(credentials.basic)),
    reload,
    close: stopWatching,
  };
}

/** Reads and parses the file; `undefined` when its content is unchanged since `previousDigest`. */
async function loadSnapshot(options: BasicAuthOptions, previousDigest: string | undefined): Promise<UsersSnapshot | undefined> {
  const text = await readFile(options.usersFile, 'utf8');
  const digest = createHash('sha256').update(text).digest('hex');
  if (digest === previousDigest) return undefined;
  const users = parseUsersFile(text, options);
  const plaintext = [...users.values()].filter((u) => u.password.kind === 'plaintext').map((u) => u.username);
  if (plaintext.length > 0) {
    options.logger.warn({ users: plaintext }, 'users file holds plaintext passwords; use bcrypt or argon2id hashes');
  }
  const dummy = await createDummyPassword([...users.values()].map((u) => u.password));
  return { users, dummy, digest };
}

// Watches the folder, not the file: editors and Kubernetes ConfigMaps replace the file (rename or symlink
// swap), which ends a watch on the file itself.
function startWatching(options: BasicAuthOptions, reload: () => Promise<boolean>): () => void {
  let debounce: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), options.debounceMs ?? 250);
    debounce.unref();
  };
  let watcher: FSWatcher | undefined;
  if (options.watch ?? true) {
    const file = basename(options.usersFile);
    watcher = watch(dirname(options.usersFile), (_event, changed) => {
      if (changed === null || changed === file || changed.startsWith('..')) schedule();
    });
    watcher.unref();
    watcher.on('error', (error) => options.logger.warn({ err: errorMessage(error) }, 'users file watch failed'));
  }
  const interval = (options.reloadIntervalMs ?? 0) > 0 ? setInterval(() => void reload(), options.reloadIntervalMs) : undefined;
  interval?.unref();
  return () => {
    watcher?.close();
    if (debounce !== undefined) clearTimeout(debounce);
    if (interval !== undefined) clearInterval(interval);
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
