import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitRuleSchema } from '../config/sections/limits.js';
import { createIdentity } from '../identity/identity.js';
import { compileLimitRule, type LimitSubject } from './rules.js';

const identity = (subject: string, extra: { roles?: string[]; authenticator?: string; tenants?: string[] } = {}) =>
  createIdentity({
    subject,
    tenants: extra.tenants ?? ['team-a'],
    policy: undefined,
    authenticator: extra.authenticator ?? 'oidc',
    ...(extra.roles ? { roles: extra.roles } : {}),
  });

const subject = (overrides: Partial<LimitSubject> = {}): LimitSubject => ({
  identity: identity('alice', { roles: ['viewer'] }),
  tenants: ['team-a'],
  upstream: 'mimir',
  endpoint: { name: 'mimir.query_range', scope: 'read' },
  ...overrides,
});

const rule = (config: Record<string, unknown>) => compileLimitRule(limitRuleSchema.parse({ name: 'r', ...config }));

test('a rule matches when every matcher given matches; none given matches everything', () => {
  const rows: [string, Record<string, unknown>, Partial<LimitSubject>, boolean][] = [
    ['default rule', {}, {}, true],
    ['subject', { subjects: ['alice'] }, {}, true],
    ['other subject', { subjects: ['bob'] }, {}, false],
    ['role via the roles claim', { roles: ['viewer', 'editor'] }, {}, true],
    ['role not held', { roles: ['admin'] }, {}, false],
    ['role, identity without roles', { roles: ['viewer'] }, { identity: identity('tok', { authenticator: 'static-token' }) }, false],
    ['authenticator', { authenticators: ['oidc'] }, {}, true],
    ['tenant among several', { tenants: ['team-b'] }, { tenants: ['team-a', 'team-b'] }, true],
    ['upstream', { upstreams: ['prometheus'] }, {}, false],
    ['endpoint class', { endpoints: ['read'] }, {}, true],
    ['endpoint class, write', { endpoints: ['write'] }, {}, false],
    ['endpoint name', { endpoints: ['mimir.query_range'] }, {}, true],
    ['every matcher must match', { subjects: ['alice'], upstreams: ['loki'] }, {}, false],
  ];
  for (const [name, config, overrides, want] of rows) assert.equal(rule(config).matches(subject(overrides)), want, name);
});

test('buckets: per identity (authenticator and subject) or per tenant', () => {
  assert.equal(rule({}).bucketKey(subject()), 'i:oidc:alice');
  assert.equal(rule({ per: 'tenant' }).bucketKey(subject({ tenants: ['a', 'b'] })), 't:a|b');
  assert.equal(rule({ per: 'tenant' }).bucketKey(subject({ tenants: ['b', 'a'] })), 't:a|b', 'a tenant set, in any order');
});

test('the rule id is stable, and changes with the name, any limit or matcher', () => {
  assert.equal(rule({ rate: 1 }).id, rule({ rate: 1 }).id);
  assert.notEqual(rule({ rate: 1 }).id, compileLimitRule(limitRuleSchema.parse({ name: 'other', rate: 1 })).id);
  assert.notEqual(rule({ rate: 1 }).id, rule({ rate: 2 }).id);
  assert.notEqual(rule({ rate: 1 }).id, rule({ rate: 1, tenants: ['x'] }).id);
});
