import type { Config, UpstreamConfig } from '../../config/config.js';
import { loadAclFile } from '../../policy/acl.js';
import type { CaseExpectation, PolicyTestCase } from './cases.js';
import type { HarnessIdentity, OfflineHarness } from './offline-config.js';
import type { CaseOutcome } from './run-case.js';

/** A request of each upstream type that every identity with read access may make. */
const SAMPLE_REQUESTS: Readonly<Record<string, { path: string; params?: Record<string, string> }>> = {
  prometheus: { path: '/api/v1/query', params: { query: 'up' } },
  victoriametrics: { path: '/api/v1/query', params: { query: 'up' } },
  mimir: { path: '/prometheus/api/v1/query', params: { query: 'up' } },
  loki: { path: '/loki/api/v1/query', params: { query: '{job="app"}' } },
  tempo: { path: '/api/search', params: { q: '{}' } },
  alertmanager: { path: '/api/v2/alerts' },
  raw: { path: '/' },
};

/**
 * The starter cases of `scopegate test --init`: for each identity the configuration knows (token entries,
 * users, one per ACL role for JWT providers that map roles, else one set of claims per JWT provider), a read
 * on the first upstream (allowed or not, as the gateway decides today) and the same read asking for a tenant
 * the identity does not own. The runner fills each `expect` from what the gateway did (a snapshot to review).
 */
export async function starterCases(config: Config, harness: OfflineHarness): Promise<Omit<PolicyTestCase, 'expect'>[]> {
  const target = firstReachable(config.proxy.upstreams);
  if (target === undefined) return [];
  const sample = SAMPLE_REQUESTS[target.upstream.type] ?? { path: '/' };
  const path = `${target.upstream.path_prefix ?? ''}${sample.path}`;
  const request = { host: target.host, path, headers: {}, ...(sample.params ? { params: sample.params } : {}) };
  const identities = await listIdentities(config, harness);
  return identities.flatMap(({ label, identity }) => [
    { name: `${label}: ${sample.path}`, identity, request, upstream: [] },
    {
      name: `${label}: ${sample.path} for a tenant it does not own`,
      identity,
      request: { ...request, headers: { [target.upstream.tenant_header]: 'not-its-tenant' } },
      upstream: [],
    },
  ]);
}

async function listIdentities(config: Config, harness: OfflineHarness): Promise<{ label: string; identity: HarnessIdentity }[]> {
  const out: { label: string; identity: HarnessIdentity }[] = [];
  for (const name of harness.tokenNames) out.push({ label: `token ${name}`, identity: { token: name } });
  for (const name of harness.userNames) out.push({ label: `user ${name}`, identity: { basic: name } });
  for (const provider of harness.jwtProviders) {
    const section = config.auth[provider];
    if (section === undefined) continue;
    const base = { sub: `example-${provider}`, [section.tenant_claim]: section.default_tenant ?? 'example-tenant' };
    const rolesClaim = 'roles_claim' in section ? section.roles_claim : undefined;
    if (rolesClaim !== undefined && config.acl !== undefined) {
      const acl = await loadAclFile(config.acl.file, { label: config.acl.label });
      for (const role of acl.roles.keys()) {
        out.push({ label: `${provider} role ${role}`, identity: { claims: { ...base, [rolesClaim]: [role] }, provider } });
      }
    } else {
      out.push({ label: `${provider} claims`, identity: { claims: { ...base, [section.namespaces_claim]: ['example'] }, provider } });
    }
  }
  return out;
}

/** The first upstream (in routing order) and a Host its `match` accepts. */
function firstReachable(upstreams: readonly UpstreamConfig[]): { upstream: UpstreamConfig; host: string } | undefined {
  const ordered = [...upstreams].sort((a, b) => b.priority - a.priority);
  for (const upstream of ordered) {
    const source = upstream.match.source.replace(/^\^\(\?:/, '').replace(/\)\$$/, '');
    const candidates = [source.replace(/\\\./g, '.'), 'localhost', `${upstream.name ?? 'upstream'}.example.com`];
    const host = candidates.find((candidate) => /^[a-z0-9.-]+$/i.test(candidate) && upstream.match.test(candidate));
    if (host !== undefined) return { upstream, host };
  }
  return undefined;
}

/** The expectation that holds for what the gateway did: the snapshot `--init` writes. */
export function expectationOf(outcome: CaseOutcome): CaseExpectation {
  if (!outcome.allowed) {
    return { allowed: false, status: outcome.status, ...(outcome.code !== undefined ? { code: outcome.code } : {}) };
  }
  return {
    allowed: true,
    ...(outcome.tenant !== undefined ? { tenant: outcome.tenant } : {}),
    ...(outcome.endpoint !== undefined ? { endpoint: outcome.endpoint } : {}),
    ...(outcome.query !== undefined ? { query: outcome.query } : {}),
    limits: [...outcome.limits],
    ...(outcome.policy_source !== undefined ? { policy_source: outcome.policy_source } : {}),
  };
}
