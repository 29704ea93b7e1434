import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { PolicyError, buildLabelPolicy, buildSelectorsPolicy, readSelectorsInput, unionLabelPolicies } from './label-policy.js';
import type { LabelPolicy } from './label-policy.js';

/**
 * lfgw's ACL: a YAML map from role to the label values it may see, e.g.
 *
 *     admin: .*                    # full access
 *     team-min: "min.*, stolon"    # a regex and a literal
 *
 * Values are comma-separated (a YAML list is accepted too); a value that looks like a regex is one
 * (`looksLikeRegex`), `.*` anywhere in the list is full access. The label they constrain is configurable
 * (default `namespace`). A role may instead be a list of selectors (the list form, docs/policies.md):
 *
 *     team-a:                      # {namespace="a", env="prod"} or {namespace="shared"}
 *       - { namespace: a, env: prod }
 *       - { namespace: shared }
 *
 * Roles are ORed: the identity sees the exact union of its roles' policies (`unionLabelPolicies`).
 */
export interface Acl {
  readonly label: string;
  readonly roles: ReadonlyMap<string, LabelPolicy>;
}

export class AclError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AclError';
  }
}

/** Parses and compiles an ACL document; errors name the role, so a bad file is fixed in one go. */
export function parseAcl(text: string, options: { label?: string } = {}): Acl {
  const label = options.label ?? 'namespace';
  const document: unknown = parseYaml(text);
  if (document === null || document === undefined) return { label, roles: new Map() };
  if (typeof document !== 'object' || Array.isArray(document)) throw new AclError('ACL must be a map of role: values');
  const roles = new Map<string, LabelPolicy>();
  for (const [role, raw] of Object.entries(document as Record<string, unknown>)) {
    try {
      const policy = isSelectorList(raw)
        ? buildSelectorsPolicy(readSelectorsInput(raw))
        : buildLabelPolicy({ label, values: splitValues(role, raw) });
      if (policy === undefined) throw new AclError(`ACL role "${role}" has no values`);
      roles.set(role, policy);
    } catch (error) {
      if (error instanceof PolicyError) throw new AclError(`ACL role "${role}": ${error.message}`);
      throw error;
    }
  }
  return { label, roles };
}

/** A YAML list whose items are all maps: the list form (a list of strings is today's shape). */
function isSelectorList(raw: unknown): boolean {
  return Array.isArray(raw) && raw.length > 0 && raw.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item));
}

function splitValues(role: string, raw: unknown): string[] {
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) && raw.every((v) => typeof v === 'string') ? raw : undefined;
  if (items === undefined) throw new AclError(`ACL role "${role}" must be a string or a list of strings`);
  return items.map((v) => v.trim()).filter((v) => v !== '');
}

export async function loadAclFile(path: string, options: { label?: string } = {}): Promise<Acl> {
  return parseAcl(await readFile(path, 'utf8'), options);
}

export interface ResolveRolesOptions {
  /**
   * lfgw's "assumed roles": a role the ACL does not name is itself a value (literal or regex) of the label,
   * for IdPs whose role names are namespace names. A role that is not a safe policy value is skipped.
   */
  readonly assumeRoles?: boolean;
}

/**
 * The policy of a set of roles: the ACL policies of known roles (and, with `assumeRoles`, the unknown roles
 * as values) merged. Unknown roles are ignored otherwise; no known role → `undefined` (implicit deny where
 * enforced), never full access.
 */
export function resolveRolesPolicy(acl: Acl, roles: readonly string[], options: ResolveRolesOptions = {}): LabelPolicy | undefined {
  const policies: (LabelPolicy | undefined)[] = [];
  for (const role of roles) {
    const known = acl.roles.get(role);
    if (known !== undefined) policies.push(known);
    else if (options.assumeRoles === true) policies.push(assumeRole(acl.label, role));
  }
  return unionLabelPolicies(policies);
}

function assumeRole(label: string, role: string): LabelPolicy | undefined {
  try {
    return buildLabelPolicy({ label, values: [role.trim()].filter((v) => v !== '') });
  } catch (error) {
    if (error instanceof PolicyError) return undefined;
    throw error;
  }
}
