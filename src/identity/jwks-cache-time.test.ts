import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheTimeMs } from './jwks-source.js';

// Grafana's key handler writes `public, max-age=3600`; a global middleware may write `no-store` (issue #20).
const bounds = { maxAgeCapMs: 3_600_000, defaultAgeMs: 300_000 };

test('cache time of signing keys from Cache-Control, bounded by our own', () => {
  const cases: [string | string[] | undefined, number][] = [
    ['public, max-age=3600', 3_600_000],
    ['public, max-age=86400', 3_600_000],
    ['max-age=60', 60_000],
    ['max-age="60"', 60_000],
    ['MAX-AGE=60', 60_000],
    ['max-age=0', 0],
    ['no-store', 300_000],
    ['no-store, max-age=3600', 300_000],
    ['no-cache', 300_000],
    ['private', 300_000],
    ['max-age=-1', 300_000],
    ['max-age=abc', 300_000],
    ['', 300_000],
    [undefined, 300_000],
    [['public', 'max-age=120'], 120_000],
  ];
  for (const [header, want] of cases) assert.equal(cacheTimeMs(header, bounds), want, JSON.stringify(header));
  assert.equal(cacheTimeMs('no-store', { maxAgeCapMs: 1000, defaultAgeMs: 300_000 }), 1000, 'the default never exceeds the cap');
});
