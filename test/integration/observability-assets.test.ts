import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { createTestKey, startJwksServer, type JwksServer } from '../servers/jwks-server.js';
import { findFreePort } from '../servers/free-port.js';
import { sendRaw } from '../servers/http-client.js';

// Issue #13, observability assets: the Grafana dashboard (deploy/grafana) and the alerting rules
// (deploy/prometheus, and the same groups as a PrometheusRule in deploy/kubernetes/base). Every expression is
// parsed with the PromQL grammar, every metric it reads must be one a running gateway exports on /metrics, and
// promtool accepts the rule file.

const run = promisify(execFile);
const DASHBOARD = 'deploy/grafana/scopegate-dashboard.json';
const ALERTS = 'deploy/prometheus/scopegate-alerts.yaml';
const PROMETHEUS_RULE = 'deploy/kubernetes/base/prometheus-rule.yaml';

/** Series Prometheus makes for every target itself: allowed though the gateway does not export them. */
const SCRAPE_SERIES = new Set(['up']);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  title?: string;
  type: string;
  datasource?: { uid?: string };
  targets?: { expr: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  panels: Panel[];
}

/**
 * Grafana replaces its variables before the query reaches Prometheus: the interval ones by durations, the
 * others (here all inside regex matchers, `=~"$tenant"`) by values. Substitute the same way, then parse.
 */
function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, '.*');
}

/** Parses with the PromQL grammar; throws on a syntax error, returns the metric names the selectors read. */
function metricNamesOf(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'VectorSelector') {
        const identifier = node.node.getChild('Identifier');
        if (identifier) names.push(expr.slice(identifier.from, identifier.to));
      }
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error at ${errors[0]} in: ${expr}`);
  if (tree.topNode.firstChild === null) throw new Error(`empty expression: ${expr}`);
  return names;
}

/** `# TYPE name kind` lines → the series names each family exposes (histograms: _bucket, _sum, _count). */
function exportedSeriesNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const match of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, family, kind] = match as unknown as [string, string, string];
    if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
    else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix);
    else names.add(family);
  }
  return names;
}

function unknownMetrics(exprs: readonly string[], exported: ReadonlySet<string>): string[] {
  const used = new Set(exprs.flatMap((expr) => metricNamesOf(expr)));
  return [...used].filter((name) => !exported.has(name) && !SCRAPE_SERIES.has(name)).sort();
}

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

/** The selector inside `label_values(selector, label)`, or the whole query when it is PromQL already. */
function variableQueryExpr(query: string): string {
  const labelValues = /^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\)$/.exec(query.trim());
  return labelValues ? (labelValues[1] as string) : query;
}

let dashboard: Dashboard;
let alerts: RuleFile;
let dashboardExprs: string[];
let alertExprs: string[];

let jwks: JwksServer;
let deadPort: number;

// A gateway with every part that registers metrics: static tokens (file), a JWKS provider, a SigV4-signed
// upstream (AWS credential metrics), [limits], process metrics.
const fixture = gatewayFixture({
  before: async (cleanup) => {
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
    alerts = parseYaml(await readFile(ALERTS, 'utf8')) as RuleFile;
    const queryVariables = dashboard.templating.list.filter((v) => v.type === 'query');
    dashboardExprs = [
      ...panelsOf(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...queryVariables.map((v) => variableQueryExpr(typeof v.query === 'string' ? v.query : v.query.query)),
    ].map(substituteGrafanaVariables);
    alertExprs = alerts.groups.flatMap((g) => g.rules.map((r) => r.expr));
    jwks = await startJwksServer([await createTestKey('k1')]);
    cleanup.after(() => jwks.close());
    deadPort = await findFreePort();
  },
  tokens: { 'tok-a': { tenant: 'tenant-a', namespace: 'team-a' } },
  config: (upstream) => ({
    auth: { order: ['static', 'jwks'], jwks: { url: jwks.url } },
    query_cost: { enabled: true },
    limits: { rules: [{ name: 'aps-rate', upstreams: ['aps'], rate: 0.001, burst: 1, concurrency: 4 }] },
    proxy: {
      upstreams: [
        { name: 'mimir', match: 'mimir\\.example', upstream, type: 'mimir', priority: 10 },
        {
          name: 'gone',
          match: 'gone\\.example',
          upstream: `http://127.0.0.1:${deadPort}`,
          type: 'mimir',
          priority: 10,
          dial_timeout: '1s',
        },
        {
          name: 'aps',
          match: 'aps\\.example',
          upstream,
          type: 'mimir',
          sign: {
            service: 'aps',
            region: 'eu-west-1',
            credentials: { type: 'static', access_key_id: 'AKIDEXAMPLE', secret_access_key: 'secret' },
          },
        },
      ],
    },
  }),
  collectProcessMetrics: true,
});

let scraped: Promise<string> | undefined;

/**
 * The gateway's /metrics after traffic that fills the request counters, the histogram, a denial, a limited
 * request and an upstream error; the traffic is sent once, by the first test that asks.
 */
function metricsAfterTraffic(): Promise<string> {
  scraped ??= (async () => {
    const query = (host: string, token: string) =>
      sendRaw(fixture.gateway.url, { path: '/prometheus/api/v1/query?query=up', headers: { host, authorization: `Bearer ${token}` } });
    assert.equal((await query('mimir.example', 'tok-a')).status, 200);
    assert.equal((await query('mimir.example', 'not-a-token')).status, 401);
    assert.equal((await query('gone.example', 'tok-a')).status, 502);
    assert.equal((await query('aps.example', 'tok-a')).status, 200);
    assert.equal((await query('aps.example', 'tok-a')).status, 429);
    return (await fetch(`${fixture.gateway.adminUrl}/metrics`)).text();
  })();
  return scraped;
}

test('every dashboard and alert expression parses with the PromQL grammar (and a broken one would not)', () => {
  assert.ok(dashboardExprs.length >= 20, `${dashboardExprs.length} dashboard queries`);
  assert.ok(alertExprs.length >= 8, `${alertExprs.length} alert rules`);
  for (const expr of [...dashboardExprs, ...alertExprs]) assert.doesNotThrow(() => metricNamesOf(expr), expr);
  assert.throws(() => metricNamesOf('sum by (code (rate(scopegate_requests_total[5m]))'), /syntax error/);
  assert.throws(
    () => metricNamesOf('rate(scopegate_requests_total[$__rate_interval])'),
    /syntax error/,
    'an unsubstituted variable is not PromQL',
  );
});

test('the traffic produced the samples the panels read', async () => {
  const metricsText = await metricsAfterTraffic();
  assert.match(metricsText, /^scopegate_requests_total\{tenant="tenant-a",upstream="mimir",endpoint="[^"]+",code="200"\} 1$/m);
  assert.match(metricsText, /^scopegate_request_duration_seconds_bucket\{le="[^"]+",upstream="mimir",/m);
  assert.match(metricsText, /^scopegate_denials_total\{code="[^"]+"\} 1$/m);
  assert.match(metricsText, /^scopegate_upstream_errors_total\{upstream="gone",kind="[^"]+"\} 1$/m);
  assert.match(metricsText, /^scopegate_secret_age_seconds\{source="file"\} /m);
  assert.match(metricsText, /^scopegate_signing_keys_age_seconds\{source="jwks"\} /m);
  assert.match(metricsText, /^scopegate_ready 1$/m);
  assert.match(metricsText, /^scopegate_limited_total\{tenant="tenant-a",limit="rate"\} 1$/m);
  assert.match(metricsText, /^scopegate_process_cpu_seconds_total /m);
  assert.match(metricsText, /^scopegate_query_seconds_total\{tenant="tenant-a",identity="[^"]+"\} /m);
  assert.match(metricsText, /^scopegate_query_duration_seconds_bucket\{le="[^"]+",tenant="tenant-a"\} /m);
});

test('every metric the dashboard and the alerts read is one the gateway exports', async () => {
  const exported = exportedSeriesNames(await metricsAfterTraffic());
  assert.deepEqual(unknownMetrics(dashboardExprs, exported), []);
  assert.deepEqual(unknownMetrics(alertExprs, exported), []);
  // The check bites: a misspelt name, and a histogram read without its suffix, are reported.
  assert.deepEqual(unknownMetrics(['rate(scopegate_request_total[5m])', 'scopegate_request_duration_seconds'], exported), [
    'scopegate_request_duration_seconds',
    'scopegate_request_total',
  ]);
});

test('the dashboard has datasource, tenant and upstream variables, and every query uses the datasource variable', () => {
  const variables = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v.type]));
  assert.equal(variables.datasource, 'datasource');
  assert.equal(variables.tenant, 'query');
  assert.equal(variables.upstream, 'query');
  const queried = panelsOf(dashboard.panels).filter((p) => p.type !== 'row');
  assert.ok(queried.length > 0);
  for (const panel of queried) {
    assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
    for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, '${datasource}', panel.title);
  }
  const all = dashboardExprs.join('\n');
  for (const family of [
    'scopegate_requests_total',
    'scopegate_denials_total',
    'scopegate_request_duration_seconds_bucket',
    'scopegate_upstream_errors_total',
    'scopegate_secret_age_seconds',
    'scopegate_signing_keys_age_seconds',
    'scopegate_aws_credential_expiry_seconds',
    'scopegate_aws_credential_breaker_state',
    'scopegate_limited_total',
    'scopegate_query_samples_total',
    'scopegate_query_seconds_total',
    'scopegate_query_response_bytes_total',
    'scopegate_query_processed_bytes_total',
    'scopegate_query_samples_bucket',
    'scopegate_query_duration_seconds_bucket',
    'scopegate_query_response_size_bytes_bucket',
    'query_budget_exceeded',
  ]) {
    assert.ok(all.includes(family), `the dashboard shows ${family}`);
  }
});

test('promtool accepts the alerting rules, and the PrometheusRule carries the same groups', async () => {
  const { stdout } = await run('promtool', ['check', 'rules', ALERTS]);
  assert.match(stdout, /SUCCESS: \d+ rules found/);
  const names = alerts.groups.flatMap((g) => g.rules.map((r) => r.alert));
  for (const alert of [
    'ScopegateDown',
    'ScopegateNotReady',
    'ScopegateTokenSetStale',
    'ScopegateDenialsRising',
    'ScopegateUpstreamErrors',
    'ScopegateAwsCredentialBreakerOpen',
    'ScopegateLimitsBackendErrors',
    'ScopegateQueryBudgetSpent',
    'ScopegateExpensiveQueries',
  ]) {
    assert.ok(names.includes(alert), alert);
  }
  const prometheusRule = parseYaml(await readFile(PROMETHEUS_RULE, 'utf8')) as { kind: string; spec: RuleFile };
  assert.equal(prometheusRule.kind, 'PrometheusRule');
  assert.deepEqual(prometheusRule.spec.groups, alerts.groups);
});
