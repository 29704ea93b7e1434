import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
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

test('requests, durations and authentications are exposed as prom-client Counter and Histogram exposed them', async () => {
  const metrics = createGatewayMetrics({ collectProcessMetrics: false });
  // The three metrics as they were declared with prom-client's own classes, fed through label children as before.
  const reference = new Registry();
  const requests = new Counter({
    name: 'scopegate_requests_total',
    help: 'Requests handled, by tenant, upstream, endpoint and HTTP status code.',
    labelNames: ['tenant', 'upstream', 'endpoint', 'code'],
    registers: [reference],
  });
  const duration = new Histogram({
    name: 'scopegate_request_duration_seconds',
    help: 'Time from request start to the last byte of the response.',
    labelNames: ['upstream', 'endpoint'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [reference],
  });
  const authentications = new Counter({
    name: 'scopegate_authentications_total',
    help: 'Authentication outcomes: success or refused per authenticator; unrecognised when no authenticator took the credential.',
    labelNames: ['authenticator', 'result'],
    registers: [reference],
  });
  const requestsSeen = [
    { tenant: 'team-a', upstream: 'prom', endpoint: 'query', code: 200, seconds: 0.0004 },
    { tenant: 'none', upstream: 'none', endpoint: 'none', code: 401, seconds: 0.001 },
    { tenant: 'team-b', upstream: 'loki', endpoint: 'push', code: 204, seconds: 0.3 },
    { tenant: 'team-a', upstream: 'prom', endpoint: 'query', code: 502, seconds: 31 },
    { tenant: 'team-a', upstream: 'prom', endpoint: 'query', code: 200, seconds: 0.07 },
  ];
  for (const { seconds, ...labels } of requestsSeen) {
    metrics.recordRequest(labels, seconds);
    requests.labels(labels.tenant, labels.upstream, labels.endpoint, String(labels.code)).inc();
    duration.labels(labels.upstream, labels.endpoint).observe(seconds);
  }
  for (const [authenticator, result] of [
    ['static-token', 'success'],
    ['jwt', 'refused'],
    ['static-token', 'success'],
    ['none', 'unrecognised'],
  ] as const) {
    metrics.recordAuthentication(authenticator, result);
    authentications.labels(authenticator, result).inc();
  }
  for (const name of ['scopegate_requests_total', 'scopegate_request_duration_seconds', 'scopegate_authentications_total']) {
    assert.equal(await metrics.registry.getSingleMetricAsString(name), await reference.getSingleMetricAsString(name));
  }
  const types = [...(await metrics.registry.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(types, [
    'scopegate_requests_total counter',
    'scopegate_request_duration_seconds histogram',
    'scopegate_authentications_total counter',
    'scopegate_upstream_errors_total counter',
    'scopegate_denials_total counter',
  ]);
});
