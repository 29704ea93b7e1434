import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createQueryCostLedger, MAX_QUERY_CHARS } from './query-cost-ledger.js';
import type { QueryCostRecord } from './query-cost-record.js';

function record(identity: string, samples: number | undefined, seconds: number, query = `q-${identity}`): QueryCostRecord {
  return {
    tenant: 't',
    identity,
    upstream: 'prom',
    endpoint: 'prometheus.query',
    query,
    samples,
    bytesProcessed: undefined,
    responseBytes: 100,
    seconds,
    rangeSeconds: undefined,
    stepSeconds: undefined,
  };
}

function ledger(options: Partial<{ topQueries: number; maxIdentities: number; topIdentities: number }> = {}) {
  let nowMs = Date.UTC(2026, 11, 6, 12);
  const made = createQueryCostLedger({ now: () => nowMs, topQueries: 3, maxIdentities: 100, topIdentities: 5, ...options });
  return { ledger: made, advance: (ms: number) => (nowMs += ms) };
}

test('identities are summed over the last hour and ordered by samples, seconds or bytes', () => {
  const { ledger: l, advance } = ledger();
  l.record(record('a', 100, 1));
  advance(30 * 60_000);
  l.record(record('a', 100, 1));
  l.record(record('b', 150, 5));
  assert.deepEqual(
    l.report('samples').identities.map((i) => [i.identity, i.samples, i.queries]),
    [
      ['a', 200, 2],
      ['b', 150, 1],
    ],
  );
  assert.deepEqual(
    l.report('seconds').identities.map((i) => i.identity),
    ['b', 'a'],
  );
  advance(31 * 60_000); // the first minute has left the hour
  assert.deepEqual(
    l.report('samples').identities.map((i) => [i.identity, i.samples]),
    [
      ['b', 150],
      ['a', 100],
    ],
  );
});

test('the most expensive queries: by samples where reported, then by seconds; texts cut', () => {
  const { ledger: l } = ledger({ topQueries: 2 });
  l.record(record('a', 10, 1));
  l.record(record('b', 500, 1));
  l.record(record('c', undefined, 9));
  l.record(record('d', 50, 0.1, 'x'.repeat(5000)));
  const queries = l.report().queries;
  assert.deepEqual(
    queries.map((q) => q.identity),
    ['b', 'd'],
  );
  assert.equal(queries[1]?.query.length, MAX_QUERY_CHARS + 1);
  // c reported no samples: among the identities, it leads by seconds.
  assert.equal(l.report('seconds').identities[0]?.identity, 'c');
});

test('a minute holds at most maxIdentities identities; later ones of that minute are one other row', () => {
  const { ledger: l } = ledger({ maxIdentities: 2, topIdentities: 10 });
  for (const id of ['a', 'b', 'c', 'd']) l.record(record(id, 1, 1));
  assert.deepEqual(
    l
      .report()
      .identities.map((i) => [i.identity, i.queries])
      .sort(),
    [
      ['a', 1],
      ['b', 1],
      ['other', 2],
    ],
  );
});
