import { hash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { createIdentity, type Identity, type Scope } from '../identity/identity.js';
import { buildEntryPolicy } from '../policy/label-policy.js';

/**
 * The static token set: token → identity, parsed once from whatever a `SecretSource` loaded.
 *
 * Accepted shape (LGTM-Auth-Proxy compatible, plus label policies):
 * ```
 * { "<token>": "tenant-a",
 *   "<token>": { "tenants": ["t1", "t2"], "namespaces": ["team-a", "team-b-.*"], "labels": { "cluster": "eu" },
 *                "scopes": ["read"], "name": "grafana-eu" } }
 * ```
 * An entry without `namespace`/`namespaces`/`labels` has no label policy: it is limited to its tenants, and
 * upstreams that enforce labels deny it (implicit deny). `namespaces: [".*"]` is explicit full access.
 * Error messages name an entry by its position and `name`, never by the token.
 */
export interface TokenSet {
  readonly size: number;
  /** The identity of a token, or `undefined` when the token is not in the set. */
  lookup(token: string): Identity | undefined;
}

export class TokenSetError extends Error {
  /** Every bad entry, one line each (the message joins them), so a file is fixed in one pass. */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('; '));
    this.name = 'TokenSetError';
    this.problems = list;
  }
}

export interface TokenSetOptions {
  /** Authenticator name written into each identity (for "why was I let in" logs). */
  readonly authenticator: string;
  /** Label that `namespace`/`namespaces` constrain; default `namespace`. */
  readonly policyLabel?: string;
}

const scopeSchema = z.enum(['read', 'write', 'admin']);
const entryObjectSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    tenant: z.string().min(1).optional(),
    tenants: z.array(z.string().min(1)).min(1).optional(),
    namespace: z.string().min(1).optional(),
    namespaces: z.array(z.string().min(1)).min(1).optional(),
    labels: z.record(z.string(), z.string().min(1)).optional(),
    /** The list form: label → value(s) objects, ORed (docs/policies.md). */
    selectors: z.array(z.record(z.string(), z.union([z.string(), z.array(z.string())]))).optional(),
    scopes: z.array(scopeSchema).optional(),
  })
  .refine((e) => (e.tenant === undefined) !== (e.tenants === undefined), {
    message: 'give exactly one of "tenant" or "tenants"',
  })
  .refine((e) => e.namespace === undefined || e.namespaces === undefined, {
    message: 'give at most one of "namespace" or "namespaces"',
  });
type EntryInput = z.infer<typeof entryObjectSchema>;

interface IndexedEntry {
  readonly digest: Buffer;
  readonly identity: Identity;
}

/**
 * SHA-256 of the token: fixed length, so comparing digests takes the same time whatever the token. One-shot
 * `hash` (no Hash object per request, ~25% cheaper than createHash on the request path).
 */
function digestToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** The map key of a digest: its 32 bytes as a latin1 string (no hex formatting per request). */
function digestKey(digest: Buffer): string {
  return digest.toString('latin1');
}

class FrozenTokenSet implements TokenSet {
  readonly #byDigest: ReadonlyMap<string, IndexedEntry>;
  readonly size: number;

  constructor(byDigest: ReadonlyMap<string, IndexedEntry>) {
    this.#byDigest = byDigest;
    this.size = byDigest.size;
    Object.freeze(this);
  }

  lookup(token: string): Identity | undefined {
    // The map is keyed by the digest, so a near-miss token shares no prefix with a real one; the final
    // constant-time comparison guards the map's own string comparison.
    const digest = digestToken(token);
    const entry = this.#byDigest.get(digestKey(digest));
    if (entry === undefined || !timingSafeEqual(entry.digest, digest)) return undefined;
    return entry.identity;
  }
}

/** Parses and validates the raw object a source loaded. Throws `TokenSetError` naming the bad entry. */
export function parseTokenSet(raw: unknown, options: TokenSetOptions): TokenSet {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TokenSetError('token set must be an object mapping token to entry');
  }
  const byDigest = new Map<string, IndexedEntry>();
  const names = new Set<string>();
  const problems: string[] = [];
  Object.entries(raw).forEach(([token, value], index) => {
    const label = describeEntry(index, value);
    try {
      assertUsableToken(token, label);
      const entry = parseEntry(value, label);
      const digest = digestToken(token);
      const subject = entry.name ?? `sha256:${digest.toString('hex').slice(0, 12)}`;
      if (names.has(subject)) throw new TokenSetError(`${label}: duplicate name ${JSON.stringify(subject)}`);
      names.add(subject);
      byDigest.set(digestKey(digest), Object.freeze({ digest, identity: buildIdentity(entry, subject, label, options) }));
    } catch (error) {
      if (!(error instanceof TokenSetError)) throw error;
      problems.push(...error.problems);
    }
  });
  // One bad entry refuses the whole set (the refresher keeps the last good one), but every bad entry is named.
  if (problems.length > 0) throw new TokenSetError(problems);
  return new FrozenTokenSet(byDigest);
}

function describeEntry(index: number, value: unknown): string {
  const name = typeof value === 'object' && value !== null && 'name' in value ? value.name : undefined;
  return typeof name === 'string' ? `token #${index + 1} (${JSON.stringify(name)})` : `token #${index + 1}`;
}

// RFC 7230 §3.2.6 / RFC 6750 §2.1: a header value cannot carry whitespace or control characters inside a
// token, so such a key can never match and is almost surely a paste error.
function assertUsableToken(token: string, label: string): void {
  if (token.length === 0) throw new TokenSetError(`${label}: empty token`);
  if (/[\s\x00-\x1f\x7f]/.test(token)) throw new TokenSetError(`${label}: token contains whitespace or control characters`);
}

function parseEntry(value: unknown, label: string): EntryInput {
  if (typeof value === 'string') return { tenant: value };
  const result = entryObjectSchema.safeParse(value);
  if (result.success) return result.data;
  throw new TokenSetError(
    result.error.issues.map((issue) => `${label}: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`),
  );
}

function buildIdentity(entry: EntryInput, subject: string, label: string, options: TokenSetOptions): Identity {
  const values = entry.namespaces ?? (entry.namespace !== undefined ? [entry.namespace] : undefined);
  try {
    const policy = buildEntryPolicy({
      ...(options.policyLabel !== undefined ? { label: options.policyLabel } : {}),
      ...(values !== undefined ? { values } : {}),
      ...(entry.labels !== undefined ? { labels: entry.labels } : {}),
      ...(entry.selectors !== undefined ? { selectors: entry.selectors } : {}),
    });
    return createIdentity({
      subject,
      tenants: entry.tenants ?? [entry.tenant as string],
      policy,
      authenticator: options.authenticator,
      ...(entry.scopes !== undefined ? { scopes: entry.scopes as Scope[] } : {}),
    });
  } catch (error) {
    throw new TokenSetError(`${label}: ${(error as Error).message}`);
  }
}
