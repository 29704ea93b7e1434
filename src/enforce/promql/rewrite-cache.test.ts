import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLabelPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { enforceQuery, enforceSelector } from './enforce.js';
import { createCachedPromQLEnforcer } from './rewrite-cache.js';

const policy = (input: Parameters<typeof buildLabelPolicy>[0]): LabelPolicy => buildLabelPolicy(input) as LabelPolicy;

// Policies close to each other: one value apart, literal vs regex, the same values on another label, an
// extra label, and values that would collide if the key were joined without quoting.
const POLICIES: readonly LabelPolicy[] = [
  policy({ values: ['team-a'] }),
  policy({ values: ['team-b'] }),
  policy({ values: ['team-a', 'team-b'] }),
  policy({ values: ['team-.*'] }),
  policy({ label: 'tenant', values: ['team-a'] }),
  policy({ values: ['team-a'], labels: { cluster: 'eu-1' } }),
  policy({ values: ['a,namespace="b'] }),
  policy({ values: ['a'], labels: { namespace2: 'b' } }),
  policy({ label: 'cluster', values: ['eu-1'], labels: { namespace: 'team-a' } }),
  FULL_ACCESS,
];

const QUERIES = ['up', 'sum(rate(http_requests_total{namespace="team-a"}[5m]))', '{__name__=~".+"} or node_boot_time_seconds'];

test('a cached result is never one computed for another policy (every order of policies and queries)', () => {
  const cache = createCachedPromQLEnforcer({ maxEntries: 1000, maxQueryLength: 4096 });
  for (let round = 0; round < 2; round++) {
    for (const p of round === 0 ? POLICIES : [...POLICIES].reverse()) {
      for (const query of QUERIES) {
        assert.equal(cache.enforceQuery(query, p), enforceQuery(query, p), `${query} under policy #${POLICIES.indexOf(p)}`);
        assert.equal(cache.enforceSelector('up', p), enforceSelector('up', p));
      }
    }
  }
});

test('query and selector rewrites of the same text do not share an entry', () => {
  const cache = createCachedPromQLEnforcer({ maxEntries: 10, maxQueryLength: 4096 });
  const p = policy({ values: ['team-a'] });
  assert.equal(cache.enforceQuery('up # c', p), enforceQuery('up # c', p));
  assert.equal(cache.enforceSelector('up # c', p), enforceSelector('up # c', p));
});

test('errors are not remembered: a refused query is refused every time', () => {
  const cache = createCachedPromQLEnforcer({ maxEntries: 10, maxQueryLength: 4096 });
  const p = policy({ values: ['team-a'] });
  for (let i = 0; i < 2; i++) assert.throws(() => cache.enforceQuery('sum(up', p), QueryParseError);
});

test('the cache is bounded by maxEntries', () => {
  const cache = createCachedPromQLEnforcer({ maxEntries: 2, maxQueryLength: 4096 });
  const p = policy({ values: ['team-a'] });
  for (const query of ['a', 'b', 'a', 'c', 'd']) assert.equal(cache.enforceQuery(query, p), enforceQuery(query, p));
  assert.equal(cache.size, 2);
});

test('queries longer than maxQueryLength are rewritten every time and still enforced', () => {
  const cache = createCachedPromQLEnforcer({ maxEntries: 10, maxQueryLength: 8 });
  const p = policy({ values: ['team-a'] });
  const long = 'http_requests_total or up';
  assert.equal(cache.enforceQuery(long, p), enforceQuery(long, p));
  assert.equal(cache.enforceQuery(long, policy({ values: ['team-b'] })), enforceQuery(long, policy({ values: ['team-b'] })));
  assert.equal(cache.size, 0);
});
