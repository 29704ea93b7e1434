import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQueryCost, estimateLookbackMs, QueryCostError } from './query-cost.js';
import { parseLokiTimeMs, parsePromTimeMs, parseStepMs, parseTempoTimeMs } from './query-time.js';
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

test('checkQueryCost on Tempo search and metrics query_range: seconds or nanoseconds, both times or neither, q and query', () => {
  const limits = { maxRangeMs: 2 * H, minStepMs: 10_000, maxPoints: 100, maxQueryBytes: 20 };
  const now = 100 * H;
  const hourNs = String(3_600_000_000_000n);
  const rows: [string, [string, string][], string][] = [
    ['search within the range', [['q', '{}'], ['start', '0'], ['end', '7200']], 'ok'],
    ['search over the range', [['q', '{}'], ['start', '0'], ['end', '7201']], 'query_range_too_long'],
    ['nanoseconds', [['start', hourNs], ['end', String(4n * 3_600_000_000_000n)]], 'query_range_too_long'],
    ['nanoseconds within', [['start', hourNs], ['end', String(3n * 3_600_000_000_000n)]], 'ok'],
    ['a second end', [['start', '0'], ['end', '60'], ['end', '99999']], 'query_range_too_long'],
    ['neither time: the last hour', [['q', '{}']], 'ok'],
    ['start without end', [['start', '0']], 'invalid_time_range'],
    ['end without start', [['end', '7200']], 'invalid_time_range'],
    ['fractional seconds', [['start', '0.5'], ['end', '60']], 'invalid_time_range'],
    ['RFC 3339', [['start', '1970-01-01T00:00:00Z'], ['end', '60']], 'invalid_time_range'],
    ['metrics step', [['q', '{} | rate()'], ['start', '0'], ['end', '3600'], ['step', '60s']], 'ok'],
    ['metrics step too small', [['start', '0'], ['end', '3600'], ['step', '5s']], 'step_too_small'],
    ['metrics too many points', [['start', '0'], ['end', '7200'], ['step', '60s']], 'too_many_points'],
    ['metrics unreadable step', [['start', '0'], ['end', '60'], ['step', 'soon']], 'invalid_time_range'],
    ['q too long', [['q', '{ .a = "' + 'x'.repeat(20) + '" }']], 'query_too_long'],
    ['query too long', [['query', '{ .a = "' + 'x'.repeat(20) + '" }']], 'query_too_long'],
  ];
  for (const [label, params, want] of rows) {
    let got = 'ok';
    try {
      checkQueryCost(params, 'range', 'tempo', limits, now);
    } catch (error) {
      assert.ok(error instanceof QueryCostError);
      got = error.code;
    }
    assert.equal(got, want, label);
  }
  assert.equal(parseTempoTimeMs('1700000000'), 1_700_000_000_000);
  assert.equal(parseTempoTimeMs('1700000000000000000'), 1_700_000_000_000);
  assert.equal(parseTempoTimeMs('1700000000.5'), undefined);
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
