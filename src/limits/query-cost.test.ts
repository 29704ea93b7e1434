import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQueryCost, estimateLookbackMs, QueryCostError, type QueryCostLimits } from './query-cost.js';
import type { EndpointQuery, Preset } from '../routing/endpoint.js';
import { compileEndpointTable } from '../routing/endpoint-table.js';
import { lokiPreset } from '../routing/presets/loki.js';
import { prometheusPreset } from '../routing/presets/prometheus.js';
import { tempoPreset } from '../routing/presets/tempo.js';
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

/** The query a built-in row declares (found by its path): the guards read the row, so the tests read the same rows. */
function queryOf(preset: Preset, path: string): EndpointQuery {
  const query = compileEndpointTable(preset).match('GET', path).query;
  assert.ok(query, path);
  return query;
}
const PROM_RANGE = queryOf(prometheusPreset, '/api/v1/query_range');
const LOKI_RANGE = queryOf(lokiPreset, '/loki/api/v1/query_range');
const TEMPO_SEARCH = queryOf(tempoPreset, '/api/search');
const TEMPO_METRICS_RANGE = queryOf(tempoPreset, '/api/metrics/query_range');
const TEMPO_METRICS_INSTANT = queryOf(tempoPreset, '/api/metrics/query');

function codeOf(params: [string, string][], query: EndpointQuery, limits: QueryCostLimits, nowMs: number): string {
  try {
    checkQueryCost(params, query, limits, nowMs);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof QueryCostError);
    return error.code;
  }
}

test('checkQueryCost: every occurrence counts; unreadable values are refused', () => {
  const limits = { maxRangeMs: H, minStepMs: 10_000, maxPoints: 100 };
  const prom = (params: [string, string][]) => codeOf(params, PROM_RANGE, limits, 10 * H);
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
      ['step', '60'],
    ]),
    'ok',
  );
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
      ['end', '3601'],
      ['step', '60'],
    ]),
    'query_range_too_long',
  );
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
      ['step', '60'],
      ['step', '1'],
    ]),
    'step_too_small',
  );
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
      ['step', '30'],
    ]),
    'too_many_points',
  );
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
    ]),
    'invalid_time_range',
  );
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
      ['step', '-60'],
    ]),
    'invalid_time_range',
  );
  // Prometheus reads no `since`: it is not part of the span.
  assert.equal(
    prom([
      ['start', '0'],
      ['end', '3600'],
      ['step', '60'],
      ['since', '30d'],
    ]),
    'ok',
  );
  assert.equal(codeOf([], LOKI_RANGE, limits, 10 * H), 'ok');
  assert.equal(codeOf([['start', '0']], LOKI_RANGE, limits, 10 * H), 'query_range_too_long');
});

test('checkQueryCost on Loki query_range: since counts as Loki reads it (start = min(end, now) − since), start wins over it', () => {
  const limits = { maxRangeMs: 2 * H };
  const now = 100 * H;
  const loki = (params: [string, string][]) => codeOf(params, LOKI_RANGE, limits, now);
  const rows: [string, [string, string][], string][] = [
    ['since within the range', [['since', '2h']], 'ok'],
    ['since over the range', [['since', '30d']], 'query_range_too_long'],
    [
      'since with a past end',
      [
        ['since', '3h'],
        ['end', String(50 * 3600)],
      ],
      'query_range_too_long',
    ],
    [
      'since with a future end: from now, so wider',
      [
        ['since', '1h'],
        ['end', String(101.5 * 3600)],
      ],
      'query_range_too_long',
    ],
    [
      'a second since',
      [
        ['since', '1h'],
        ['since', '3h'],
      ],
      'query_range_too_long',
    ],
    [
      'start supersedes since',
      [
        ['since', '30d'],
        ['start', String(99 * 3600)],
      ],
      'ok',
    ],
    ['unreadable since', [['since', 'a while']], 'invalid_time_range'],
    ['no times: the last hour', [], 'ok'],
  ];
  for (const [label, params, want] of rows) assert.equal(loki(params), want, label);
});

test('checkQueryCost on Tempo: search reads start and end only (both or neither), metrics read since as Loki does', () => {
  const limits = { maxRangeMs: 2 * H, minStepMs: 10_000, maxPoints: 100, maxQueryBytes: 20 };
  const now = 100 * H;
  const hourNs = String(3_600_000_000_000n);
  const rows: [string, EndpointQuery, [string, string][], string][] = [
    [
      'search within the range',
      TEMPO_SEARCH,
      [
        ['q', '{}'],
        ['start', '0'],
        ['end', '7200'],
      ],
      'ok',
    ],
    [
      'search over the range',
      TEMPO_SEARCH,
      [
        ['q', '{}'],
        ['start', '0'],
        ['end', '7201'],
      ],
      'query_range_too_long',
    ],
    [
      'nanoseconds',
      TEMPO_SEARCH,
      [
        ['start', hourNs],
        ['end', String(4n * 3_600_000_000_000n)],
      ],
      'query_range_too_long',
    ],
    [
      'nanoseconds within',
      TEMPO_SEARCH,
      [
        ['start', hourNs],
        ['end', String(3n * 3_600_000_000_000n)],
      ],
      'ok',
    ],
    [
      'a second end',
      TEMPO_SEARCH,
      [
        ['start', '0'],
        ['end', '60'],
        ['end', '99999'],
      ],
      'query_range_too_long',
    ],
    ['neither time: the last hour', TEMPO_SEARCH, [['q', '{}']], 'ok'],
    [
      'search reads no since',
      TEMPO_SEARCH,
      [
        ['q', '{}'],
        ['since', '30d'],
      ],
      'ok',
    ],
    ['start without end', TEMPO_SEARCH, [['start', '0']], 'invalid_time_range'],
    ['end without start', TEMPO_SEARCH, [['end', '7200']], 'invalid_time_range'],
    [
      'fractional seconds',
      TEMPO_SEARCH,
      [
        ['start', '0.5'],
        ['end', '60'],
      ],
      'invalid_time_range',
    ],
    [
      'RFC 3339',
      TEMPO_SEARCH,
      [
        ['start', '1970-01-01T00:00:00Z'],
        ['end', '60'],
      ],
      'invalid_time_range',
    ],
    ['search q too long', TEMPO_SEARCH, [['q', '{ .a = "' + 'x'.repeat(20) + '" }']], 'query_too_long'],
    [
      'metrics step',
      TEMPO_METRICS_RANGE,
      [
        ['q', '{} | rate()'],
        ['start', '0'],
        ['end', '3600'],
        ['step', '60s'],
      ],
      'ok',
    ],
    [
      'metrics step too small',
      TEMPO_METRICS_RANGE,
      [
        ['start', '0'],
        ['end', '3600'],
        ['step', '5s'],
      ],
      'step_too_small',
    ],
    [
      'metrics too many points',
      TEMPO_METRICS_RANGE,
      [
        ['start', '0'],
        ['end', '7200'],
        ['step', '60s'],
      ],
      'too_many_points',
    ],
    [
      'metrics unreadable step',
      TEMPO_METRICS_RANGE,
      [
        ['start', '0'],
        ['end', '60'],
        ['step', 'soon'],
      ],
      'invalid_time_range',
    ],
    [
      'metrics RFC 3339, as Tempo reads it',
      TEMPO_METRICS_RANGE,
      [
        ['start', '1970-01-01T00:00:00Z'],
        ['end', '60'],
      ],
      'ok',
    ],
    [
      'metrics since over the range',
      TEMPO_METRICS_RANGE,
      [
        ['q', '{} | rate()'],
        ['since', '30d'],
      ],
      'query_range_too_long',
    ],
    ['metrics start alone: end is now', TEMPO_METRICS_RANGE, [['start', '0']], 'query_range_too_long'],
    ['metrics no times: the last hour', TEMPO_METRICS_RANGE, [], 'ok'],
    [
      'metrics instant since over the range',
      TEMPO_METRICS_INSTANT,
      [
        ['q', '{} | rate()'],
        ['since', '30d'],
      ],
      'query_range_too_long',
    ],
    ['metrics q too long', TEMPO_METRICS_RANGE, [['q', '{ .a = "' + 'x'.repeat(20) + '" }']], 'query_too_long'],
    ['metrics query too long', TEMPO_METRICS_INSTANT, [['query', '{ .a = "' + 'x'.repeat(20) + '" }']], 'query_too_long'],
  ];
  for (const [label, query, params, want] of rows) assert.equal(codeOf(params, query, limits, now), want, label);
  assert.equal(parseTempoTimeMs('1700000000'), 1_700_000_000_000);
  assert.equal(parseTempoTimeMs('1700000000000000000'), 1_700_000_000_000);
  assert.equal(parseTempoTimeMs('1700000000.5'), undefined);
});

test('checkQueryCost: lookups are not costed; lookback only where the language has range selectors', () => {
  const limits = { maxQueryBytes: 5, maxLookbackMs: H };
  const series = queryOf(prometheusPreset, '/api/v1/series');
  assert.equal(codeOf([['match[]', 'up{job="long"}']], series, limits, 0), 'ok');
  assert.equal(codeOf([['query', 'x[2h]']], queryOf(prometheusPreset, '/api/v1/query'), limits, 0), 'lookback_too_long');
  assert.equal(codeOf([['query', 'x[2h]']], queryOf(lokiPreset, '/loki/api/v1/query'), limits, 0), 'lookback_too_long');
  assert.equal(codeOf([['q', 'x[2h]']], { ...TEMPO_METRICS_INSTANT, times: undefined }, limits, 0), 'ok', 'TraceQL has no range selectors');
});

test('GCRA: burst at once, then one per interval; retry-after is the wait to the next admit', () => {
  const limit = { intervalMs: 1000, burst: 2 };
  let tat: number | undefined;
  for (const [now, allowed, retry] of [
    [0, true, 0],
    [0, true, 0],
    [0, false, 1000],
    [999, false, 1],
    [1000, true, 0],
    [1000, false, 1000],
  ] as const) {
    const result = takeGcra(tat, now, limit);
    assert.equal(result.allowed, allowed, `at ${now}`);
    assert.equal(result.retryAfterMs, retry, `at ${now}`);
    tat = result.tat;
  }
});
