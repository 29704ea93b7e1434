import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQueryCost, estimateLookbackMs, QueryCostError } from './query-cost.js';
import { parseLokiTimeMs, parsePromTimeMs, parseStepMs } from './query-time.js';
import { takeGcra } from './gcra.js';

const H = 3_600_000;

test('estimateLookbackMs: largest range or subquery range plus largest offset, strings ignored', () => {
  const rows: [string, number][] = [
    ['up', 0],
    ['rate(x[5m])', 300_000],
    ['rate(x[5m] offset 1h)', 300_000 + H],
    ['max_over_time(rate(x[5m])[2h:1m])', 2 * H],
    ['rate(x[1h30m])', 1.5 * H],
    ['rate(x{a="[9d]"}[1m])', 60_000],
    ['rate(x[1m] offset -1h)', 60_000],
    ['count_over_time({app="a"} |= "offset 9d" [10m])', 600_000],
    ['rate(x[1Q])', Infinity],
  ];
  for (const [query, want] of rows) assert.equal(estimateLookbackMs(query), want, query);
});

test('times and steps as the upstreams read them', () => {
  assert.equal(parsePromTimeMs('1.5'), 1500);
  assert.equal(parsePromTimeMs('1970-01-01T00:00:01Z'), 1000);
  assert.equal(parsePromTimeMs('now'), undefined);
  assert.equal(parseLokiTimeMs('1700000000'), 1_700_000_000_000);
  assert.equal(parseLokiTimeMs('1700000000000000000'), 1_700_000_000_000);
  assert.equal(parseLokiTimeMs('1700000000.5'), 1_700_000_000_500);
  assert.equal(parseStepMs('15s'), 15_000);
  assert.equal(parseStepMs('0.5'), 500);
  assert.equal(parseStepMs('1x'), undefined);
});

test('checkQueryCost: every occurrence counts; unreadable values are refused', () => {
  const limits = { maxRangeMs: H, minStepMs: 10_000, maxPoints: 100 };
  const codeOf = (params: [string, string][], dialect: 'prometheus' | 'loki' = 'prometheus') => {
    try {
      checkQueryCost(params, 'range', dialect, limits, 10 * H);
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof QueryCostError);
      return error.code;
    }
  };
  assert.equal(codeOf([['start', '0'], ['end', '3600'], ['step', '60']]), 'ok');
  assert.equal(codeOf([['start', '0'], ['end', '3600'], ['end', '3601'], ['step', '60']]), 'query_range_too_long');
  assert.equal(codeOf([['start', '0'], ['end', '3600'], ['step', '60'], ['step', '1']]), 'step_too_small');
  assert.equal(codeOf([['start', '0'], ['end', '3600'], ['step', '30']]), 'too_many_points');
  assert.equal(codeOf([['start', '0'], ['end', '3600']]), 'invalid_time_range');
  assert.equal(codeOf([['start', '0'], ['end', '3600'], ['step', '-60']]), 'invalid_time_range');
  assert.equal(codeOf([], 'loki'), 'ok');
  assert.equal(codeOf([['start', '0']], 'loki'), 'query_range_too_long');
});

test('GCRA: burst at once, then one per interval; retry-after is the wait to the next admit', () => {
  const limit = { intervalMs: 1000, burst: 2 };
  let tat: number | undefined;
  for (const [now, allowed, retry] of [[0, true, 0], [0, true, 0], [0, false, 1000], [999, false, 1], [1000, true, 0], [1000, false, 1000]] as const) {
    const result = takeGcra(tat, now, limit);
    assert.equal(result.allowed, allowed, `at ${now}`);
    assert.equal(result.retryAfterMs, retry, `at ${now}`);
    tat = result.tat;
  }
});
