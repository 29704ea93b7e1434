import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy, type SelectorInput } from '../../src/policy/label-policy.js';
import { enforceQuery } from '../../src/enforce/promql/enforce.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import type { SampleSeries } from '../servers/sample-series.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Differential test of exact multi-selector (DNF) policies against a real Prometheus (issue 20, item 4).
//
// One Prometheus holds the same series several times, told apart by a label `u` no query or policy names
// otherwise: universe `all` holds every series; universe `p<i>` holds only the series policy i allows
// (computed here, in plain JS, from the selectors). For a random query q and policy i:
// - the gateway's answer: q sent through scopegate with a token whose policy is policy i's selectors, each
//   with `u="all"` added (so it reads universe `all` only, limited by the union of the selectors);
// - the oracle: q evaluated on universe `p<i>` alone (q with the single matcher `u="p<i>"` added to every
//   selector, sent straight to Prometheus) — the answer of a Prometheus that holds only the allowed series.
// They must be equal once `u` is removed from every result's labels: never more, never less. Bounded and
// seeded (SEED): the same policies and queries in every run.

const SEED = Number(process.env.DNF_SEED ?? 20_2026); // another seed: DNF_SEED=n (a failure prints its policy and query)
const POLICY_COUNT = 6;
const QUERIES_PER_POLICY = 30;

// `ab` and `xa` test anchoring: a policy's `a` or `[ab]` must not reach them.
const NAMESPACES = ['a', 'b', 'shared', 'ops-1', 'ab', 'xa'];
const ENVS = ['prod', 'dev', undefined];
const JOBS = ['api', 'web'];

interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

const BASE: Series[] = [];
for (const [n, namespace] of NAMESPACES.entries()) {
  for (const [e, env] of ENVS.entries()) {
    for (const [j, job] of JOBS.entries()) {
      const labels = { namespace, job, ...(env ? { env } : {}) };
      const k = 1 + n * 6 + e * 2 + j;
      BASE.push({ name: 'req_total', labels, values: [0, k, 3 * k, 4 * k, 7 * k] });
      BASE.push({ name: 'temp', labels, values: [k, k + 1, k, k + 2, 10 + k] });
    }
  }
}

// Policy values: literals, lists, regexes (anchored by Prometheus), a regex matching many.
const policyValue = fc.oneof(
  fc.constantFrom(...NAMESPACES.slice(0, 4)).map((v): string | string[] => v),
  fc.subarray(NAMESPACES.slice(0, 4), { minLength: 1, maxLength: 2 }),
  fc.constantFrom<string | string[]>('ops-.*', 'a|shared', '[ab]'),
);
const selectorInput: fc.Arbitrary<Record<string, string | string[]>> = fc
  .record({
    namespace: fc.option(policyValue, { nil: undefined }),
    env: fc.option(fc.constantFrom<string | string[]>('prod', 'dev', ['prod', 'dev']), { nil: undefined }),
    job: fc.option(fc.constantFrom<string | string[]>('api', 'web'), { nil: undefined }),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Record<string, string | string[]>)
  .filter((r) => Object.keys(r).length > 0);
// Policies that stay several selectors once normalised (a policy that normalises to one selector is enforced
// as today, where a client's matcher outside the policy is replaced, not intersected: docs/policies.md).
const policyInput = fc.array(selectorInput, { minLength: 2, maxLength: 3 }).filter((selectors) => {
  const policy = buildSelectorsPolicy(selectors);
  return policy !== undefined && !policy.fullAccess && policy.selectors.length >= 2;
});

function matchesValue(value: string | undefined, wanted: string | readonly string[]): boolean {
  const list = typeof wanted === 'string' ? [wanted] : wanted;
  return value !== undefined && list.some((w) => w === value || (/[|[*]/.test(w) && new RegExp(`^(?:${w})$`).test(value)));
}

function allows(selectors: readonly SelectorInput[], labels: Readonly<Record<string, string>>): boolean {
  return selectors.some((s) => Object.entries(s).every(([label, wanted]) => matchesValue(labels[label], wanted)));
}

// Queries: selectors with matchers on the policy labels too (narrowing, widening attempts, empty-matching
// regexes), wrapped in per-series range functions, aggregations, set and arithmetic operators, subqueries.
const userMatcher = fc.oneof(
  fc.tuple(fc.constantFrom('namespace', 'env', 'job'), fc.constantFrom('=', '!='), fc.constantFrom('a', 'b', 'shared', 'prod', 'api', '')),
  fc.tuple(fc.constantFrom('namespace', 'env'), fc.constantFrom('=~', '!~'), fc.constantFrom('.*', '.+', 'a|b', 'ops-.*', 'prod|')),
);
const vectorSelector = fc
  .tuple(fc.constantFrom('req_total', 'temp'), fc.array(userMatcher, { maxLength: 2 }))
  .map(([metric, ms]) => `${metric}{${ms.map(([l, op, v]) => `${l}${op}${JSON.stringify(v)}`).join(', ')}}`);
const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    vectorSelector,
    vectorSelector.map((s) => `${s} offset 15s`),
    vectorSelector.map((s) => `rate(${s}[1m])`),
    vectorSelector.map((s) => `max_over_time(${s}[45s])`),
    vectorSelector.map((s) => `changes(${s}[1m] offset 15s)`),
    vectorSelector.map((s) => `timestamp(${s})`),
    fc
      .tuple(fc.constantFrom('sum', 'count', 'max'), fc.constantFrom('', ' by (namespace)', ' by (env, job)'), tie('expr'))
      .map(([op, by, e]) => `${op}${by} (${e})`),
    fc
      .tuple(
        tie('expr'),
        fc.constantFrom('or', 'and', 'unless', '+ on(namespace, job, env)', '* on(namespace, job, env) group_left()', '> bool'),
        tie('expr'),
      )
      .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    tie('expr').map((e) => `max_over_time((${e})[1m:15s])`),
    tie('expr').map((e) => `label_replace(${e}, "namespace", "x", "", "")`),
  ),
}));

// Fixed attacks, under every policy: widening a selector with a wide or empty-matching regex, one side of an
// `or` trying to read what another selector allows, unanchored-looking regexes, forging a policy label.
const ATTACKS = [
  'req_total{namespace=~".*"}',
  'req_total{namespace=~".+", env=~".*"}',
  '{__name__=~".+"}',
  'req_total{namespace="b"} or req_total{env="prod"}',
  'req_total{namespace=~"a.*"}',
  'req_total{namespace=~"x?a"}',
  'req_total{namespace=""}',
  'req_total{env=""}',
  'req_total{env=~"prod|"}',
  'count by (namespace, env) ({__name__=~"req_total|temp"})',
  'sum by (namespace) (rate(req_total{namespace!="a"}[1m]))',
  'label_replace(req_total, "namespace", "shared", "", "") + on(job, env, namespace) group_left temp',
  'max_over_time(timestamp(temp{job="api"})[1m:15s])',
];

interface Answer {
  readonly status: number;
  readonly result: string[];
}

let prometheus: PrometheusServer;
let tokens: TempTokenFile;
let gateway: StartedGateway;
const policies = fc.sample(policyInput, { seed: SEED, numRuns: POLICY_COUNT });
const queries = fc.sample(expr, { seed: SEED + 1, numRuns: POLICY_COUNT * QUERIES_PER_POLICY });

before(async () => {
  const series: SampleSeries[] = [];
  const add = (u: string, s: Series) =>
    series.push({ name: s.name, type: s.name.endsWith('_total') ? 'counter' : 'gauge', labels: { ...s.labels, u }, values: s.values });
  for (const s of BASE) add('all', s);
  for (const [i, selectors] of policies.entries()) {
    for (const s of BASE.filter((b) => allows(selectors, b.labels))) add(`p${i}`, s);
  }
  prometheus = await startPrometheus({ series, rulesYaml: 'groups: []\n' });
  tokens = await createTempTokenFile(
    Object.fromEntries(
      policies.map((selectors, i) => [`tok-${i}`, { tenant: 't', selectors: selectors.map((s) => ({ ...s, u: 'all' })) }]),
    ),
  );
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'prometheus', match: '.*', upstream: prometheus.url, type: 'prometheus' }] },
  });
});

after(async () => {
  await gateway?.stop();
  await prometheus?.stop();
  await tokens?.remove();
});

/** An instant query at the last sample, or (`range`) a range query over the last minute, every 15 s. */
async function ask(base: string, query: string, headers: Record<string, string> = {}, range = false): Promise<Answer & { code?: string }> {
  const at = prometheus.sampleTime;
  const params = new URLSearchParams(range ? { query, start: String(at - 60), end: String(at), step: '15' } : { query, time: String(at) });
  const res = await fetch(`${base}/api/v1/${range ? 'query_range' : 'query'}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: params,
  });
  type Sample = [number, string];
  const body = (await res.json()) as {
    data?: { result?: { metric: Record<string, string>; value?: Sample; values?: Sample[] }[] };
    code?: string;
  };
  // Summation order differs between the two (the union's series come in another order): compare values to
  // 12 significant digits, not to the last bit.
  const format = (samples: Sample[]) => samples.map(([t, v]) => `${t}:${Number(v).toPrecision(12)}`).join(',');
  const result = (body.data?.result ?? [])
    .map(({ metric, value, values }) => {
      const { u: _u, ...rest } = metric;
      return `${JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)))} ${format(values ?? (value ? [value] : []))}`;
    })
    .sort();
  return { status: res.status, result, ...(body.code !== undefined ? { code: body.code } : {}) };
}

describe('DNF policies: the gateway answers exactly what a Prometheus holding only the allowed series answers', () => {
  it('every seeded query under every seeded policy', async () => {
    let compared = 0;
    let nonEmpty = 0;
    for (const [i, selectors] of policies.entries()) {
      const universe: LabelPolicy = buildLabelPolicy({ label: 'u', values: [`p${i}`] }) as LabelPolicy;
      assert.ok(buildSelectorsPolicy(selectors)); // the policy is valid on its own
      for (const query of [...ATTACKS, ...queries.slice(i * QUERIES_PER_POLICY, (i + 1) * QUERIES_PER_POLICY)]) {
        // Every third query also as a range query (one minute, five steps).
        const range = compared % 3 === 2;
        const got = await ask(gateway.url, query, { authorization: `Bearer tok-${i}` }, range);
        const want = await ask(prometheus.url, enforceQuery(query, universe), {}, range);
        const context = `policy ${JSON.stringify(selectors)}\n${range ? 'range ' : ''}query ${query}`;
        assert.equal(got.status, want.status, `${context}\n${got.code ?? ''}`);
        assert.deepEqual(got.result, want.result, context);
        compared++;
        if (want.result.length > 0) nonEmpty++;
      }
    }
    assert.equal(compared, POLICY_COUNT * (QUERIES_PER_POLICY + ATTACKS.length));
    // The comparison is not vacuous: most answers hold data.
    assert.ok(nonEmpty > compared / 2, `only ${nonEmpty} of ${compared} answers held data`);
  });

  it('series and label values: several match[] (one per selector) list exactly the allowed series', async () => {
    for (const [i, selectors] of policies.entries()) {
      const params = new URLSearchParams([
        ['match[]', 'req_total'],
        ['start', String(prometheus.sampleTime - 60)],
        ['end', String(prometheus.sampleTime)],
      ]);
      const res = await fetch(`${gateway.url}/api/v1/series?${params}`, { headers: { authorization: `Bearer tok-${i}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { data: Record<string, string>[] };
      const got = body.data.map(({ u: _u, __name__: _n, ...rest }) => JSON.stringify(Object.entries(rest).sort())).sort();
      const want = BASE.filter((s) => s.name === 'req_total' && allows(selectors, s.labels))
        .map((s) => JSON.stringify(Object.entries(s.labels).sort()))
        .sort();
      assert.deepEqual(got, want, JSON.stringify(selectors));
    }
  });
});
