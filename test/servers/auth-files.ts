import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify as toYaml } from 'yaml';

/** One entry of the basic-auth users file (prometheus-multi-tenant-proxy's shape), with its password in clear. */
export interface TestUser {
  readonly username: string;
  readonly password: string;
  readonly tenant?: string;
  readonly namespaces?: readonly string[];
}

export interface AuthFiles {
  readonly dir: string;
  /** `[file] path`: static tokens, token → entry. */
  readonly tokensPath: string;
  /** `[auth.basic] users_file`. */
  readonly usersPath: string;
  /** `[acl] file`: lfgw's role → values. */
  readonly aclPath: string;
  /** Rewrites the users file (passwords bcrypt-hashed), as an operator editing it would. */
  writeUsers(users: readonly TestUser[]): Promise<void>;
  /** Writes raw text to the users file (to break it). */
  writeUsersText(text: string): Promise<void>;
  remove(): Promise<void>;
}

// Cost 4 is bcrypt's minimum: the hash path is the real one, only cheaper.
const TEST_BCRYPT_COST = 4;

/** Files the identity providers read, in a fresh temp dir; `remove()` deletes it. */
export async function createAuthFiles(input: {
  tokens?: Record<string, unknown>;
  users?: readonly TestUser[];
  acl?: Record<string, string>;
}): Promise<AuthFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-auth-'));
  const usersPath = join(dir, 'users.yaml');
  const writeUsersText = (text: string) => writeFile(usersPath, text);
  const writeUsers = async (users: readonly TestUser[]) => {
    const entries = await Promise.all(
      users.map(async (u) => ({
        username: u.username,
        password: await bcrypt.hash(u.password, TEST_BCRYPT_COST),
        ...(u.tenant !== undefined ? { tenant: u.tenant } : {}),
        ...(u.namespaces !== undefined ? { namespaces: [...u.namespaces] } : {}),
      })),
    );
    await writeUsersText(toYaml({ users: entries }));
  };
  const files: AuthFiles = {
    dir,
    tokensPath: join(dir, 'tokens.json'),
    usersPath,
    aclPath: join(dir, 'acl.yaml'),
    writeUsers,
    writeUsersText,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  await writeFile(files.tokensPath, JSON.stringify(input.tokens ?? {}));
  await writeUsers(input.users ?? []);
  await writeFile(files.aclPath, toYaml(input.acl ?? {}));
  return files;
}
