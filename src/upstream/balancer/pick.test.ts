import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BalancePolicy } from '../../config/sections/backends.js';
import { pickBackend, type Candidate } from './pick.js';

const make = (specs: readonly (readonly [key: string, weight: number, inFlight?: number])[]): Candidate[] =>
  specs.map(([key, weight, inFlight = 0]) => ({ key, weight, inFlight, currentWeight: 0 }));

function picks(policy: BalancePolicy, candidates: Candidate[], count: number, key = ''): string[] {
  return Array.from({ length: count }, () => pickBackend(policy, candidates, key)?.key ?? '-');
}

const CASES: { name: string; policy: BalancePolicy; backends: Parameters<typeof make>[0]; count: number; want: string }[] = [
  {
    name: 'round robin, equal weights',
    policy: 'round_robin',
    backends: [
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ],
    count: 6,
    want: 'abcabc',
  },
  {
    name: 'round robin 3:1 is smooth',
    policy: 'round_robin',
    backends: [
      ['a', 3],
      ['b', 1],
    ],
    count: 8,
    want: 'aabaaaba',
  },
  {
    name: 'weight 0 is a standby',
    policy: 'round_robin',
    backends: [
      ['a', 0],
      ['b', 1],
    ],
    count: 3,
    want: 'bbb',
  },
  {
    name: 'only standbys left: they serve',
    policy: 'round_robin',
    backends: [
      ['a', 0],
      ['b', 0],
    ],
    count: 2,
    want: 'ab',
  },
  {
    name: 'first available: always the first',
    policy: 'first_available',
    backends: [
      ['a', 1],
      ['b', 1],
    ],
    count: 3,
    want: 'aaa',
  },
  {
    name: 'least loaded: the idle one',
    policy: 'least_loaded',
    backends: [
      ['a', 1, 5],
      ['b', 1, 0],
      ['c', 1, 2],
    ],
    count: 2,
    want: 'bb',
  },
  {
    name: 'least loaded per weight',
    policy: 'least_loaded',
    backends: [
      ['a', 4, 3],
      ['b', 1, 1],
    ],
    count: 1,
    want: 'a',
  },
  { name: 'nothing available', policy: 'hash', backends: [], count: 1, want: '-' },
];

for (const c of CASES) {
  test(`pickBackend: ${c.name}`, () => {
    assert.equal(picks(c.policy, make(c.backends), c.count).join(''), c.want);
  });
}

test('hash: a key stays on its backend, keys spread, and only the keys of a backend that leaves move', () => {
  const all = make([
    ['a', 1],
    ['b', 1],
    ['c', 1],
  ]);
  const keys = Array.from({ length: 300 }, (_, i) => `tenant-${i}`);
  const before = new Map(keys.map((k) => [k, pickBackend('hash', all, k)?.key]));
  for (const k of keys.slice(0, 20)) assert.equal(pickBackend('hash', all, k)?.key, before.get(k));
  for (const name of ['a', 'b', 'c']) {
    const share = [...before.values()].filter((v) => v === name).length;
    assert.ok(share > 70 && share < 130, `${name}: ${share} of 300`);
  }
  const withoutB = all.filter((c) => c.key !== 'b');
  for (const k of keys) {
    if (before.get(k) !== 'b') assert.equal(pickBackend('hash', withoutB, k)?.key, before.get(k), k);
  }
});
