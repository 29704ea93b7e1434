import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGatewayMetrics } from './metrics.js';

test('recordRequest and recordAuthentication count per label set, as labelled inc/observe do', async () => {
  const metrics = createGatewayMetrics({ collectProcessMetrics: false });
  for (let i = 0; i < 3; i++) metrics.recordRequest({ tenant: 'team-a', upstream: 'prom', endpoint: 'query', code: 200 }, 0.002);
  metrics.recordRequest({ tenant: 'team-b', upstream: 'prom', endpoint: 'query', code: 403 }, 0.5);
  metrics.recordAuthentication('static-token', 'success');
  metrics.recordAuthentication('static-token', 'success');
  const text = await metrics.registry.metrics();
  assert.match(text, /^scopegate_requests_total\{tenant="team-a",upstream="prom",endpoint="query",code="200"\} 3$/m);
  assert.match(text, /^scopegate_requests_total\{tenant="team-b",upstream="prom",endpoint="query",code="403"\} 1$/m);
  assert.match(text, /^scopegate_request_duration_seconds_count\{upstream="prom",endpoint="query"\} 4$/m);
  assert.match(text, /^scopegate_request_duration_seconds_bucket\{le="0.0025",upstream="prom",endpoint="query"\} 3$/m);
  assert.match(text, /^scopegate_authentications_total\{authenticator="static-token",result="success"\} 2$/m);
});

test('more label sets than the child cache holds still count every one', async () => {
  const metrics = createGatewayMetrics({ collectProcessMetrics: false });
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 10_050; i++) metrics.recordRequest({ tenant: `t${i}`, upstream: 'u', endpoint: 'e', code: 200 }, 0.001);
  }
  const text = await metrics.registry.metrics();
  assert.match(text, /^scopegate_requests_total\{tenant="t0",upstream="u",endpoint="e",code="200"\} 2$/m);
  assert.match(text, /^scopegate_requests_total\{tenant="t10049",upstream="u",endpoint="e",code="200"\} 2$/m);
  assert.match(text, /^scopegate_request_duration_seconds_count\{upstream="u",endpoint="e"\} 20100$/m);
});
