import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PolicyError, buildEntryPolicy } from '../policy/label-policy.js';
import type { LabelPolicy } from '../policy/label-policy.js';
import { isValidTenantId } from './identity.js';
import { classifyPassword } from './password-hash.js';
import type { StoredPassword } from './password-hash.js';

/**
 * The users file, in prometheus-multi-tenant-proxy's shape (YAML or JSON — JSON is YAML):
 *
 *     users:
 *       - username: alice
 *         password: $2b$12$...        # bcrypt, argon2, or plaintext (warned)
 *         namespace: team-a           # or namespaces: [...]; values may be regexes
 *         labels: { env: prod }       # extra exact matchers
 *         tenant: team-a              # or tenants: [...]
 *       - username: bob               # or the list form instead of namespace(s)/labels (docs/policies.md):
 *         selectors:                  # label → value(s) objects, ORed
 *           - { namespace: team-a, env: prod }
 *           - { namespace: shared }
 *
 * Tenant when the entry names none (k8spin's files have no tenant): the configured `default_tenant`, else
 * the username itself. No namespace and no labels = no policy (implicit deny on enforcing upstreams).
 */
const userSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  namespace: z.string().min(1).optional(),
  namespaces: z.array(z.string().min(1)).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  selectors: z.array(z.record(z.string(), z.union([z.string(), z.array(z.string())]))).optional(),
  tenant: z.string().min(1).optional(),
  tenants: z.array(z.string().min(1)).min(1).optional(),
});

const documentSchema = z.object({ users: z.array(userSchema) });

export interface UserEntry {
  readonly username: string;
  readonly password: StoredPassword;
  readonly tenants: readonly string[];
  readonly policy: LabelPolicy | undefined;
}

export interface UsersFileOptions {
  readonly defaultTenant?: string;
  /** Label `namespace(s)` constrain (default `namespace`). */
  readonly policyLabel?: string;
}

export class UsersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsersFileError';
  }
}

/** Parses and checks the whole file; any bad entry fails it (so the caller keeps the last good users). */
export function parseUsersFile(text: string, options: UsersFileOptions = {}): ReadonlyMap<string, UserEntry> {
  const parsed = documentSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsersFileError(`users file: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const users = new Map<string, UserEntry>();
  for (const raw of parsed.data.users) {
    if (users.has(raw.username)) throw new UsersFileError(`users file: duplicate username "${raw.username}"`);
    users.set(raw.username, toUserEntry(raw, options));
  }
  return users;
}

function toUserEntry(raw: z.infer<typeof userSchema>, options: UsersFileOptions): UserEntry {
  const named = [...(raw.tenant !== undefined ? [raw.tenant] : []), ...(raw.tenants ?? [])];
  const tenants = named.length > 0 ? named : [options.defaultTenant ?? raw.username];
  for (const tenant of tenants) {
    if (!isValidTenantId(tenant))
      throw new UsersFileError(`users file: user "${raw.username}": invalid tenant id ${JSON.stringify(tenant)}`);
  }
  const values = [...(raw.namespace !== undefined ? [raw.namespace] : []), ...(raw.namespaces ?? [])];
  let policy: LabelPolicy | undefined;
  try {
    policy = buildEntryPolicy({
      label: options.policyLabel ?? 'namespace',
      values,
      ...(raw.labels ? { labels: raw.labels } : {}),
      ...(raw.selectors ? { selectors: raw.selectors } : {}),
    });
  } catch (error) {
    if (error instanceof PolicyError) throw new UsersFileError(`users file: user "${raw.username}": ${error.message}`);
    throw error;
  }
  return { username: raw.username, password: classifyPassword(raw.password), tenants, policy };
}
