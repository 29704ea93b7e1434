import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../../config/load.js';

/**
 * A `scopegate test` file: cases, each an identity, a request and what must happen (docs/decisions.md).
 * ```yaml
 * cases:
 *   - name: team-a reads its own namespace
 *     identity: { token: team-a }          # a token entry's name; or basic: user, claims: {...}, bearer: raw, none: true,
 *                                          # grafana: { user: 7, teams: [...], via: { token: grafana-ds } }
 *     request: { path: /api/v1/query, params: { query: up } }
 *     expect: { allowed: true, tenant: team-a, query: 'up{namespace="team-a"}' }
 * ```
 */

const stringMap = z.record(z.string(), z.string());

const callerIdentities = [
  z.strictObject({ token: z.string().min(1) }),
  z.strictObject({ basic: z.string().min(1), password: z.string().optional() }),
  /** JWT claims: signed for the configured JWT provider (`iss`, `aud`, `exp`, `iat` filled in when absent). */
  z.strictObject({ claims: z.record(z.string(), z.unknown()), provider: z.enum(['hmac_jwt', 'jwks', 'oidc']).optional() }),
  /** The Authorization header's bearer token exactly as given (an unknown or malformed token). */
  z.strictObject({ bearer: z.string() }),
  z.strictObject({ none: z.literal(true) }),
] as const;

/**
 * A Grafana user (`[auth.grafana]`), presented by the credential `via` (the data source's: one of the section's
 * `presenters`, or not, to test that): `X-Grafana-Id` is signed for the run, and the user is a member of `teams`
 * (each a configured team's name, uid or id) in the team map the gateway reads.
 */
const grafanaIdentity = z.strictObject({
  grafana: z.strictObject({
    user: z.int().positive(),
    teams: z.array(z.string().min(1)).default([]),
    login: z.string().min(1).optional(),
    via: z.union(callerIdentities),
  }),
});

export const identitySchema = z.union([...callerIdentities, grafanaIdentity]);

/** A canned answer of the upstream: for look-ups (series, silences) and for the forwarded request itself. */
export const cannedAnswerSchema = z.strictObject({
  /** The path it answers (without the query); absent: any request no other answer names. */
  path: z.string().startsWith('/').optional(),
  status: z.int().min(100).max(599).default(200),
  headers: stringMap.default({}),
  /** An object or array is sent as JSON. */
  body: z.unknown().optional(),
});

export const requestSchema = z
  .strictObject({
    method: z
      .string()
      .regex(/^[A-Z]+$/)
      .optional(),
    host: z.string().min(1).default('localhost'),
    path: z.string().startsWith('/'),
    /** Query parameters; a list value repeats the parameter (`match[]`). */
    params: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
    /** A form body (`application/x-www-form-urlencoded`); the method defaults to POST. */
    form: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
    /** A raw body (the content type in `headers`). */
    body: z.string().optional(),
    headers: stringMap.default({}),
  })
  .refine((r) => r.form === undefined || r.body === undefined, { message: 'give form or body, not both' });

const textList = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));

export const expectSchema = z.strictObject({
  /** Sent upstream (true), or refused by the gateway (false). */
  allowed: z.boolean().optional(),
  /** The status the client gets. */
  status: z.int().min(100).max(599).optional(),
  /** The refusal's catalogue code. */
  code: z.string().optional(),
  /** The tenant header as the upstream received it (`a|b` when federated). */
  tenant: z.string().optional(),
  /** The endpoint row that matched, e.g. `prometheus.query_range`. */
  endpoint: z.string().optional(),
  /** The query as the upstream received it: the `query` parameter (Tempo search: `q`). */
  query: z.string().optional(),
  query_contains: textList.optional(),
  query_not_contains: textList.optional(),
  /** Other parameters as the upstream received them (all values, in order). */
  params: z.record(z.string(), textList).optional(),
  /** The path the upstream received. */
  upstream_path: z.string().optional(),
  /** Headers the upstream received: each must be present and contain the text given (`""`: present). */
  upstream_headers: stringMap.optional(),
  /** The response body the client got (after response filtering) contains, or does not contain, these texts. */
  response_contains: textList.optional(),
  response_not_contains: textList.optional(),
  /** The `[[limits.rules]]` that apply to the request, in order (`[]`: none). */
  limits: z.array(z.string()).optional(),
  /** The rule that refused it. */
  limit: z.string().optional(),
  /** Where the identity's policy came from: token_entry, users_file, acl_roles, token_claims, fixed_tenant, grafana_teams, grafana_service_account. */
  policy_source: z.string().optional(),
});

export const caseSchema = z.strictObject({
  name: z.string().min(1),
  identity: identitySchema.default({ none: true }),
  request: requestSchema,
  upstream: z.array(cannedAnswerSchema).default([]),
  expect: expectSchema,
});

export const testFileSchema = z.strictObject({ cases: z.array(caseSchema).min(1) });

export type CaseIdentity = z.infer<typeof identitySchema>;
export type CannedAnswer = z.infer<typeof cannedAnswerSchema>;
export type CaseRequest = z.infer<typeof requestSchema>;
export type CaseExpectation = z.infer<typeof expectSchema>;
export type PolicyTestCase = z.infer<typeof caseSchema>;

/** A test file that cannot be read or does not follow the schema: a usage error (exit 2). */
export class TestFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestFileError';
  }
}

export async function loadTestFile(path: string): Promise<PolicyTestCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TestFileError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new TestFileError(`${path}: YAML syntax error: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  const parsed = testFileSchema.safeParse(raw);
  if (!parsed.success) throw new TestFileError(`${path}: ${formatIssues(parsed.error.issues).join('; ')}`);
  return parsed.data.cases;
}
