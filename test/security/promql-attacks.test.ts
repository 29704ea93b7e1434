import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { DEFAULT_RULES, startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import { NAMESPACES } from '../servers/sample-series.js';
import {
  assertFederateWithin,
  assertLabelSetWithin,
  assertQueryResultWithin,
  seriesVisibleTo,
  sumVisible,
} from '../servers/tenant-view.js';

// Issue #3, proof: a real Prometheus 2.42 holding three tenants behind the gateway (`type = "prometheus"`).
// Every row is an ordinary or hostile request; whatever comes back must hold no other tenant's series or
// label values. Series without the label belong to nobody. Aggregations drop the label, so those rows compare
// the value with what the tenant's own series give (computed from DEFAULT_SERIES).

const TOKENS = {
  'tok-a': { tenant: 'tenant-a', namespace: 'team-a' },
  'tok-ab': { tenant: 'tenant-a', namespaces: ['team-a', 'team-b'] },
  'tok-full': { tenant: 'ops', namespace: '.*' },
  'tok-none': 'tenant-x',
} as const;
type Token = keyof typeof TOKENS;
const ALLOWED: Readonly<Record<Exclude<Token, 'tok-full' | 'tok-none'>, readonly string[]>> = {
  'tok-a': ['team-a'],
  'tok-ab': ['team-a', 'team-b'],
};

/** Replaced by the launcher's sample time in every path and body. */
const T = 'SAMPLE_TIME';

let prometheus: PrometheusServer;

const fixture = gatewayFixture({
  before: async (cleanup) => {
    prometheus = await startPrometheus();
    cleanup.after(() => prometheus.stop());
  },
  tokens: TOKENS,
  config: () => ({
    log_level: 'warn',
    file: { watch: false },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream: prometheus.url, type: 'prometheus' }] },
  }),
});

interface Request {
  readonly method?: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

function send(token: Token | undefined, req: Request, base = fixture.gateway.url): Promise<RawResponse> {
  const fill = (text: string) => text.replaceAll(T, String(prometheus.sampleTime));
  const body = typeof req.body === 'string' ? fill(req.body) : req.body;
  const headers: Record<string, string> = { ...req.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return sendRaw(base, { method: req.method ?? 'GET', path: fill(req.path), headers, ...(body !== undefined ? { body } : {}) });
}

/** GET /api/v1/query at the sample time. */
function q(expr: string): Request {
  return { path: `/api/v1/query?${new URLSearchParams({ query: expr, time: T })}` };
}

/** A form body, encoded as Grafana sends it. */
function form(params: Record<string, string> | [string, string][]): string {
  return new URLSearchParams(params).toString();
}

const FORM = 'application/x-www-form-urlencoded';
const TEAM_A_SERIES = seriesVisibleTo(['team-a']).length;

type Want =
  /** 200, every series inside the token's namespaces; optionally how many. */
  | { readonly status: 200; readonly series?: number }
  /** 200, one sample (an aggregation without the label): its value. */
  | { readonly status: 200; readonly value: number }
  /** 200 from a label endpoint: none of these values may appear; `isEmpty`: nothing at all may. */
  | { readonly status: 200; readonly forbid: readonly string[]; readonly isEmpty?: true }
  | { readonly status: 400 | 403 | 415; readonly code: string };

interface Row {
  readonly name: string;
  readonly token?: Exclude<Token, 'tok-full' | 'tok-none'>;
  readonly req: Request;
  readonly want: Want;
}

const FOREIGN_LABEL_VALUES = ['team-b', 'team-c', 'node', 'node-1', 'web', 'node_boot_time_seconds', 'instance'];

const ROWS: readonly Row[] = [
  // Ordinary dashboard queries.
  { name: 'plain selector', req: q('http_requests_total'), want: { status: 200, series: 2 } },
  {
    name: 'sum without the label',
    req: q('sum(http_requests_total)'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a']) },
  },
  { name: 'count of a shared metric name', req: q('count(service_up)'), want: { status: 200, value: 1 } },
  // Matchers on the enforced label.
  { name: 'conflicting equality', req: q('http_requests_total{namespace="team-b"}'), want: { status: 200, series: 2 } },
  {
    name: 'two equalities, one foreign',
    req: q('http_requests_total{namespace="team-a",namespace="team-b"}'),
    want: { status: 200, series: 2 },
  },
  { name: 'negative equality', req: q('http_requests_total{namespace!="team-a"}'), want: { status: 200, series: 0 } },
  { name: 'negative regex', req: q('http_requests_total{namespace!~"team-a"}'), want: { status: 200, series: 0 } },
  { name: 'match-all regex', req: q('http_requests_total{namespace=~".*"}'), want: { status: 200, series: 2 } },
  { name: 'widening alternation', req: q('http_requests_total{namespace=~"team-a|team-b|team-c"}'), want: { status: 200, series: 2 } },
  { name: 'label present', req: q('{namespace!=""}'), want: { status: 200, series: TEAM_A_SERIES } },
  { name: 'label absent', req: q('node_boot_time_seconds{namespace=""}'), want: { status: 200, series: 0 } },
  { name: 'every metric name', req: q('{__name__=~".+"}'), want: { status: 200, series: TEAM_A_SERIES } },
  { name: 'count of every series', req: q('count({__name__=~".+"})'), want: { status: 200, value: TEAM_A_SERIES } },
  { name: 'backtick string', req: q('http_requests_total{namespace=`team-b`}'), want: { status: 200, series: 2 } },
  { name: 'quoted label name', req: q('http_requests_total{"namespace"="team-b"}'), want: { status: 200, series: 2 } },
  {
    name: 'escaped quote keeps one string',
    req: q('http_requests_total{job="x\\"} or node_boot_time_seconds{job=\\"y"}'),
    want: { status: 200, series: 0 },
  },
  // Set operations and joins with vectors the tenant does not own.
  { name: 'or with an unlabelled metric', req: q('http_requests_total or node_boot_time_seconds'), want: { status: 200, series: 2 } },
  {
    name: 'or with vector()',
    req: q('sum(http_requests_total{namespace="team-c"}) or vector(0)'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a']) },
  },
  {
    name: 'unless with a foreign vector',
    req: q('service_up unless http_requests_total{namespace="team-b"}'),
    want: { status: 200, series: 1 },
  },
  {
    name: 'on() join to an unlabelled metric',
    req: q('http_requests_total * on() group_left node_boot_time_seconds'),
    want: { status: 200, series: 0 },
  },
  {
    name: 'and with a foreign vector',
    req: q('service_up and on() http_requests_total{namespace="team-c"}'),
    want: { status: 200, series: 1 },
  },
  // Forging the label after selection.
  {
    name: 'label_replace renames a foreign series',
    req: q('sum(label_replace(http_requests_total{namespace="team-b"}, "namespace", "team-a", "", ""))'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a']) },
  },
  {
    name: 'label_replace onto an unlabelled series',
    req: q('label_replace(node_boot_time_seconds, "namespace", "team-a", "", "")'),
    want: { status: 200, series: 0 },
  },
  {
    name: 'label_join onto an unlabelled series',
    req: q('label_join(node_boot_time_seconds, "namespace", "", "job")'),
    want: { status: 200, series: 0 },
  },
  {
    name: 'absent() reports the policy label only',
    req: q('absent(no_such_metric{namespace="team-b"})'),
    want: { status: 200, series: 1 },
  },
  // Subqueries, @ and offset.
  {
    name: 'subquery',
    req: q('max_over_time(sum(http_requests_total)[1m:1s])'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a']) },
  },
  {
    name: 'subquery with offset',
    req: q('sum(max_over_time(http_requests_total{namespace="team-c"}[1m:1s] offset 15s))'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a'], 1) },
  },
  {
    name: '@ timestamp',
    req: q(`sum(http_requests_total @ ${T})`),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a']) },
  },
  {
    name: '@ end()',
    req: q('sum(http_requests_total @ end())'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a']) },
  },
  {
    name: 'offset',
    req: q('sum(http_requests_total offset 15s)'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a'], 1) },
  },
  {
    name: 'range selector with offset',
    req: q('sum(last_over_time({__name__="http_requests_total"}[1m] offset 30s))'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a'], 2) },
  },
  { name: 'topk over everything', req: q('topk(100, {__name__=~".+"})'), want: { status: 200, series: TEAM_A_SERIES } },
  // Comments: Go ends a comment at \r, lezer only at \n.
  { name: 'comment before an or', req: q('http_requests_total # hidden\n or node_boot_time_seconds'), want: { status: 200, series: 2 } },
  { name: 'comment ended by \\r', req: q('http_requests_total # \r or node_boot_time_seconds'), want: { status: 200, series: 2 } },
  { name: 'comment inside the braces', req: q('http_requests_total{ # c\n namespace="team-b"}'), want: { status: 200, series: 2 } },
  // Invalid syntax never reaches Prometheus.
  { name: 'unclosed parenthesis', req: q('sum(http_requests_total'), want: { status: 400, code: 'query_parse_error' } },
  { name: 'unclosed braces', req: q('http_requests_total{namespace="team-b"'), want: { status: 400, code: 'query_parse_error' } },
  { name: 'MetricsQL WITH', req: q('WITH (x = node_boot_time_seconds) x'), want: { status: 400, code: 'query_parse_error' } },
  { name: 'empty query', req: q(''), want: { status: 400, code: 'query_parse_error' } },
  { name: 'undecodable escape', req: q('http_requests_total{namespace="\\q"}'), want: { status: 400, code: 'query_parse_error' } },
  // Parameters: every occurrence, both places, Go's decoding.
  {
    name: 'duplicated query, first one foreign',
    req: { path: `/api/v1/query?query=node_boot_time_seconds&query=http_requests_total&time=${T}` },
    want: { status: 200, series: 0 },
  },
  {
    name: 'duplicated query, second one foreign',
    req: { path: `/api/v1/query?query=http_requests_total&query=node_boot_time_seconds&time=${T}` },
    want: { status: 200, series: 2 },
  },
  { name: '%71uery in the URL', req: { path: `/api/v1/query?%71uery=node_boot_time_seconds&time=${T}` }, want: { status: 200, series: 0 } },
  {
    name: '%71uery in the body',
    req: { method: 'POST', path: '/api/v1/query', contentType: FORM, body: `%71uery=node_boot_time_seconds&time=${T}` },
    want: { status: 200, series: 0 },
  },
  {
    name: 'POST body and URL, body read first',
    req: {
      method: 'POST',
      path: `/api/v1/query?query=node_boot_time_seconds&time=${T}`,
      contentType: FORM,
      body: form({ query: 'http_requests_total{namespace="team-b"}', time: T }),
    },
    want: { status: 200, series: 2 },
  },
  {
    name: 'POST body and URL, URL foreign',
    req: {
      method: 'POST',
      path: `/api/v1/query?query=${encodeURIComponent('{__name__=~".+"}')}`,
      contentType: FORM,
      body: form({ query: '{__name__=~".+"}', time: T }),
    },
    want: { status: 200, series: TEAM_A_SERIES },
  },
  {
    name: 'GET with a form body (never read upstream)',
    req: { path: `/api/v1/query?query=http_requests_total&time=${T}`, contentType: FORM, body: 'query=node_boot_time_seconds' },
    want: { status: 200, series: 2 },
  },
  {
    name: 'Content-Type in mixed case',
    req: {
      method: 'POST',
      path: '/api/v1/query',
      contentType: 'Application/X-WWW-Form-URLEncoded; Charset=UTF-8',
      body: form({ query: 'http_requests_total or node_boot_time_seconds', time: T }),
    },
    want: { status: 200, series: 2 },
  },
  { name: 'multipart form', req: multipart({ query: '{__name__=~".+"}', time: T }), want: { status: 200, series: TEAM_A_SERIES } },
  {
    name: 'text/plain body',
    req: { method: 'POST', path: '/api/v1/query', contentType: 'text/plain', body: 'query=node_boot_time_seconds' },
    want: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'gzip-encoded form',
    req: { method: 'POST', path: '/api/v1/query', contentType: FORM, headers: { 'content-encoding': 'gzip' }, body: 'query=up' },
    want: { status: 415, code: 'unsupported_media_type' },
  },
  // Series, federate, labels.
  {
    name: 'series with several match[]',
    req: {
      path: `/api/v1/series?${form([
        ['match[]', 'http_requests_total{namespace="team-b"}'],
        ['match[]', 'node_boot_time_seconds'],
        ['match[]', '{namespace=~".+"}'],
      ])}`,
    },
    want: { status: 200 },
  },
  { name: 'series with match%5B%5D', req: { path: '/api/v1/series?match%5B%5D=node_boot_time_seconds' }, want: { status: 200, series: 0 } },
  {
    name: 'series by POST form',
    req: {
      method: 'POST',
      path: '/api/v1/series?match[]=node_boot_time_seconds',
      contentType: FORM,
      body: form([['match[]', '{__name__=~".+"}']]),
    },
    want: { status: 200 },
  },
  { name: 'series without match[]', req: { path: '/api/v1/series' }, want: { status: 200 } },
  {
    name: 'series with an expression in match[]',
    req: { path: `/api/v1/series?${form({ 'match[]': 'http_requests_total or node_boot_time_seconds' })}` },
    want: { status: 400, code: 'query_parse_error' },
  },
  {
    name: 'federate with several match[]',
    req: {
      path: `/federate?${form([
        ['match[]', '{namespace="team-b"}'],
        ['match[]', 'node_boot_time_seconds'],
        ['match[]', '{__name__=~".+"}'],
      ])}`,
    },
    want: { status: 200 },
  },
  { name: 'federate without match[]', req: { path: '/federate' }, want: { status: 400, code: 'missing_match' } },
  { name: 'labels without match[]', req: { path: '/api/v1/labels' }, want: { status: 200, forbid: FOREIGN_LABEL_VALUES } },
  {
    name: 'labels with a foreign match[]',
    req: { path: '/api/v1/labels?match[]=node_boot_time_seconds' },
    want: { status: 200, forbid: FOREIGN_LABEL_VALUES, isEmpty: true },
  },
  {
    name: 'labels by POST form',
    req: { method: 'POST', path: '/api/v1/labels', contentType: FORM, body: form({ 'match[]': '{__name__=~".+"}' }) },
    want: { status: 200, forbid: FOREIGN_LABEL_VALUES },
  },
  {
    name: 'namespace values without match[]',
    req: { path: '/api/v1/label/namespace/values' },
    want: { status: 200, forbid: FOREIGN_LABEL_VALUES },
  },
  {
    name: 'namespace values with a foreign match[]',
    req: { path: `/api/v1/label/namespace/values?${form({ 'match[]': '{namespace="team-c"}' })}` },
    want: { status: 200, forbid: FOREIGN_LABEL_VALUES },
  },
  { name: 'job values without match[]', req: { path: '/api/v1/label/job/values' }, want: { status: 200, forbid: FOREIGN_LABEL_VALUES } },
  {
    name: 'metric names without match[]',
    req: { path: '/api/v1/label/__name__/values' },
    want: { status: 200, forbid: FOREIGN_LABEL_VALUES },
  },
  {
    name: 'instance values',
    req: { path: '/api/v1/label/instance/values' },
    want: { status: 200, forbid: FOREIGN_LABEL_VALUES, isEmpty: true },
  },
  // Two namespaces.
  {
    name: 'two namespaces: third one asked',
    token: 'tok-ab',
    req: q('http_requests_total{namespace="team-c"}'),
    want: { status: 200, series: 3 },
  },
  {
    name: 'two namespaces: narrower equality kept',
    token: 'tok-ab',
    req: q('http_requests_total{namespace="team-b"}'),
    want: { status: 200, series: 1 },
  },
  {
    name: 'two namespaces: sum',
    token: 'tok-ab',
    req: q('sum(http_requests_total)'),
    want: { status: 200, value: sumVisible('http_requests_total', ['team-a', 'team-b']) },
  },
  {
    name: 'two namespaces: namespace values',
    token: 'tok-ab',
    req: { path: '/api/v1/label/namespace/values' },
    want: { status: 200, forbid: ['team-c', ''] },
  },
];

function multipart(fields: Record<string, string>): Request {
  const boundary = 'scopegate-boundary-7d3f';
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return {
    method: 'POST',
    path: '/api/v1/query',
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: `${parts.join('')}--${boundary}--\r\n`,
  };
}

/** The refusal in Prometheus' error JSON, with the gateway's code. */
function assertPrometheusError(res: RawResponse, status: number, code: string, isApiPath = true): void {
  assert.equal(res.status, status, res.body.toString());
  const body = res.json<{ status: string; errorType: string; error: string; code: string }>();
  assert.equal(body.status, 'error');
  if (isApiPath) assert.equal(body.errorType, status === 403 ? 'forbidden' : 'bad_data');
  assert.equal(typeof body.error, 'string');
  assert.equal(body.code, code);
}

function assertWithinPolicy(row: Row, res: RawResponse, allowed: readonly string[]): void {
  const path = row.req.path.split('?')[0] ?? '';
  const want = row.want;
  if (path === '/federate') {
    assert.ok(assertFederateWithin(res.body.toString('utf8'), allowed, row.name) > 0, 'the tenant still sees its own series');
    return;
  }
  const envelope = res.json<{ status: string; data: unknown }>();
  if ('forbid' in want) {
    const values = envelope.data as string[];
    if (want.isEmpty) assert.deepEqual(values, []);
    else assert.ok(values.length > 0, `${row.name}: the tenant still sees its own values`);
    for (const value of want.forbid) assert.ok(!values.includes(value), `${row.name}: ${value} leaked in ${JSON.stringify(values)}`);
    return;
  }
  if (path === '/api/v1/series') {
    const sets = envelope.data as Record<string, string>[];
    for (const labels of sets) assertLabelSetWithin(labels, allowed, row.name);
    if ('series' in want && want.series !== undefined) assert.equal(sets.length, want.series);
    else assert.ok(sets.length > 0, 'the tenant still sees its own series');
    return;
  }
  if ('value' in want) {
    // An aggregation drops the label: the value must be the tenant's own.
    const data = envelope.data as { result: { value: [number, string] }[] };
    assert.equal(data.result.length, 1, JSON.stringify(data));
    assert.equal(Number(data.result[0]?.value[1]), want.value);
    return;
  }
  const result = assertQueryResultWithin(envelope, allowed, row.name);
  if ('series' in want && want.series !== undefined) assert.equal(result.length, want.series, JSON.stringify(result));
}

describe("hostile and ordinary requests never return another tenant's data", () => {
  for (const row of ROWS) {
    test(row.name, async () => {
      const token = row.token ?? 'tok-a';
      const res = await send(token, row.req);
      if (row.want.status !== 200) {
        assertPrometheusError(res, row.want.status, row.want.code, row.req.path.startsWith('/api/v1/'));
        return;
      }
      assert.equal(res.status, 200, res.body.toString());
      assertWithinPolicy(row, res, ALLOWED[token]);
    });
  }
});

// Safe mode: admin and write endpoints are refused for every identity, full access included.
const BLOCKED: readonly { readonly name: string; readonly req: Request; readonly code: string }[] = [
  { name: 'TSDB snapshot', req: { method: 'POST', path: '/api/v1/admin/tsdb/snapshot' }, code: 'admin_endpoint_blocked' },
  { name: 'delete series', req: { method: 'POST', path: '/api/v1/admin/tsdb/delete_series?match[]=up' }, code: 'admin_endpoint_blocked' },
  { name: 'clean tombstones', req: { method: 'PUT', path: '/api/v1/admin/tsdb/clean_tombstones' }, code: 'admin_endpoint_blocked' },
  { name: 'quit', req: { method: 'POST', path: '/-/quit' }, code: 'admin_endpoint_blocked' },
  { name: 'reload', req: { method: 'POST', path: '/-/reload' }, code: 'admin_endpoint_blocked' },
  {
    name: 'remote write',
    req: { method: 'POST', path: '/api/v1/write', contentType: 'application/x-protobuf', body: Buffer.alloc(0) },
    code: 'write_endpoint_blocked',
  },
];

describe('safe mode refuses admin and write endpoints', () => {
  for (const row of BLOCKED) {
    test(row.name, async () => {
      for (const token of ['tok-full', 'tok-a'] as const) {
        const res = await send(token, row.req);
        assert.equal(res.status, 403, `${token}: ${res.body.toString()}`);
        assert.equal(res.json().code, row.code);
      }
    });
  }

  test('prometheus is still up after /-/quit', async () => {
    assert.equal((await send('tok-a', { path: '/-/ready' })).status, 200);
  });
});

test('a token without a label policy is denied (implicit deny)', async () => {
  for (const req of [q('http_requests_total'), { path: '/api/v1/labels' }, { path: '/api/v1/rules' }]) {
    assertPrometheusError(await send('tok-none', req), 403, 'no_label_policy');
  }
});

interface RulesData {
  groups: {
    name: string;
    rules: { name: string; type: string; labels?: Record<string, string>; alerts?: { labels: Record<string, string> }[] }[];
  }[];
}

describe('/api/v1/rules and /api/v1/alerts are filtered to the tenant', () => {
  test('rules: only team-a groups and rules, for every match[] sent', async () => {
    for (const path of ['/api/v1/rules', '/api/v1/rules?match[]={namespace="team-b"}', '/api/v1/rules?type=alert']) {
      const res = await send('tok-a', { path });
      assert.equal(res.status, 200, res.body.toString());
      const { groups } = res.json<{ data: RulesData }>().data;
      assert.deepEqual(
        groups.map((g) => g.name),
        ['team-a'],
        path,
      );
      for (const rule of groups.flatMap((g) => g.rules)) {
        assertLabelSetWithin(rule.labels ?? {}, ['team-a'], `${path}: rule ${rule.name}`);
        for (const alert of rule.alerts ?? []) assertLabelSetWithin(alert.labels, ['team-a'], `${path}: alert of ${rule.name}`);
      }
    }
  });

  test("alerts: team-a's firing alert only, no team-b alert, no cluster-wide alert", async () => {
    const res = await send('tok-a', { path: '/api/v1/alerts' });
    assert.equal(res.status, 200, res.body.toString());
    const alerts = res.json<{ data: { alerts: { labels: Record<string, string> }[] } }>().data.alerts;
    assert.deepEqual(
      alerts.map((a) => a.labels.alertname),
      ['TeamAAlwaysFiring'],
    );
  });

  test("two namespaces see both groups and team-b's pending alert; full access sees everything", async () => {
    const ab = (await send('tok-ab', { path: '/api/v1/alerts' })).json<{ data: { alerts: { labels: Record<string, string> }[] } }>();
    assert.deepEqual(ab.data.alerts.map((a) => a.labels.alertname).sort(), ['TeamAAlwaysFiring', 'TeamBPending']);
    const full = (await send('tok-full', { path: '/api/v1/rules' })).json<{ data: RulesData }>();
    const names = new Set([...DEFAULT_RULES.recording, ...DEFAULT_RULES.alerting].map((r) => r.group));
    assert.deepEqual(new Set(full.data.groups.map((g) => g.name)), names);
  });
});

describe('full access is the same as asking Prometheus directly', () => {
  const requests: Request[] = [
    q('sum(http_requests_total)'),
    q('{__name__=~".+"}'),
    q('node_boot_time_seconds'),
    { path: `/api/v1/series?${form({ 'match[]': '{__name__=~".+"}', start: '0', end: T })}` },
    { path: `/api/v1/label/namespace/values?end=${T}&start=0` },
  ];
  for (const req of requests) {
    test(decodeURIComponent(req.path), async () => {
      const [viaGateway, direct] = await Promise.all([send('tok-full', req), send(undefined, req, prometheus.url)]);
      assert.equal(viaGateway.status, 200, viaGateway.body.toString());
      assert.deepEqual(viaGateway.json(), direct.json());
    });
  }

  test('the dataset does hold other tenants and an unlabelled series (the limited rows are meaningful)', async () => {
    const res = await send('tok-full', { path: '/api/v1/label/namespace/values' });
    assert.deepEqual(res.json<{ data: string[] }>().data, [...NAMESPACES]);
    const boot = await send('tok-full', q('node_boot_time_seconds'));
    assert.equal(boot.json<{ data: { result: unknown[] } }>().data.result.length, 1);
  });
});
