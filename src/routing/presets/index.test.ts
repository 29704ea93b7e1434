import { it } from 'node:test';
import assert from 'node:assert/strict';
import { usesPrometheusErrorBody } from './index.js';

it('errors use the Prometheus API body on its paths under any prefix, never below /loki/', () => {
  const cases: [string | undefined, boolean][] = [
    ['/api/v1/query', true],
    ['/prometheus/api/v1/query_range', true],
    ['/select/0/prometheus/api/v1/series', true],
    ['/loki/api/v1/query', false],
    ['/api/v2/alerts', false],
    ['/v1/traces', false],
    ['/api/v1', false],
    [undefined, false],
  ];
  for (const [path, expected] of cases) assert.equal(usesPrometheusErrorBody(path), expected, String(path));
});
