import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { enforceQuery } from './enforce.js';
import { parsePromQL } from './parse.js';
import { decodeSelector, type DecodedSelector } from './selector.js';
import { quotePromString } from './string-literal.js';
import { findUnenforcedSelectors } from './verify.js';

// Queries from a small grammar: selectors with random matchers (on the enforced label too), wrapped in
// functions, aggregations, binary and set operators, subqueries, offsets and comments. Each output must
// re-parse, keep the number of selectors, and - evaluated on a fixed set of series - select only series the
// policy allows. The evaluation is the test's own (plain JS regexes over a tame value set), independent of
// the enforcer's code.

const LABELS = ['namespace', 'job', 'cluster'];
const VALUES = ['', 'team-a', 'team-b', 'minio', 'mongo', 'stolon', 'eu', 'x"y', 'ü\\n'];
const REGEXES = ['.*', '.+', 'team-.*', 'min.*', 'team-a|stolon', 'eu'];

const matcher = fc.oneof(
  fc.tuple(fc.constantFrom(...LABELS), fc.constantFrom('=', '!='), fc.constantFrom(...VALUES)),
  fc.tuple(fc.constantFrom(...LABELS), fc.constantFrom('=~', '!~'), fc.constantFrom(...REGEXES)),
);
const selector = fc
  .tuple(fc.constantFrom('', 'up', 'http_requests_total', 'job:rate5m'), fc.array(matcher, { maxLength: 3 }))
  .map(([metric, ms]) => {
    const body = ms.map(([l, op, v]) => `${l}${op}${quotePromString(v)}`).join(', ');
    return metric !== '' && ms.length === 0 ? metric : `${metric}{${body === '' ? '__name__=~".+"' : body}}`;
  });

const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    selector,
    selector.map((s) => `rate(${s}[5m])`),
    selector.map((s) => `${s} offset 1h`),
    fc.tuple(fc.constantFrom('sum', 'max', 'count'), tie('expr')).map(([op, e]) => `${op} by (job) (${e})`),
    fc.tuple(tie('expr'), fc.constantFrom('+', 'or', 'unless', 'and', '/', '> bool'), tie('expr')).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie('expr').map((e) => `max_over_time((${e})[30m:1m])`),
    tie('expr').map((e) => `label_replace(${e}, "namespace", "team-a", "", "")`),
    tie('expr').map((e) => `-(${e}) # note\n`),
    fc.constant('vector(1)'),
  ),
}));

type Series = Readonly<Record<string, string>>;
const SERIES: Series[] = [];
for (const ns of ['team-a', 'team-b', 'minio', 'mongo', 'stolon', undefined]) {
  for (const cluster of ['eu', 'us', undefined]) {
    SERIES.push({ __name__: 'up', ...(ns ? { namespace: ns } : {}), ...(cluster ? { cluster } : {}), job: 'j' });
  }
}

function selects(sel: DecodedSelector, series: Series): boolean {
  return sel.parts.every((p) => {
    if (p.kind === 'quoted-metric-name') return series.__name__ === p.name;
    const value = series[p.label] ?? '';
    const re = new RegExp(`^(?:${p.value})$`, 'su');
    if (p.op === '=') return value === p.value;
    if (p.op === '!=') return value !== p.value;
    if (p.op === '=~') return re.test(value);
    return !re.test(value);
  });
}

const POLICIES: [string, LabelPolicy, (s: Series) => boolean][] = [
  ['one literal', buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy, (s) => s.namespace === 'team-a'],
  [
    'regex and literal',
    buildLabelPolicy({ values: ['min.*', 'stolon'] }) as LabelPolicy,
    (s) => s.namespace === 'minio' || s.namespace === 'stolon',
  ],
  [
    'two labels',
    buildLabelPolicy({ values: ['team-a', 'team-b'], labels: { cluster: 'eu' } }) as LabelPolicy,
    (s) => (s.namespace === 'team-a' || s.namespace === 'team-b') && s.cluster === 'eu',
  ],
];

describe('enforceQuery property', () => {
  for (const [name, policy, isAllowed] of POLICIES) {
    it(`every selector selects only allowed series (${name})`, () => {
      fc.assert(
        fc.property(expr, (query) => {
          const before = parsePromQL(query).selectors.length;
          const out = enforceQuery(query, policy);
          const parsed = parsePromQL(out);
          assert.equal(parsed.selectors.length, before);
          assert.deepEqual(findUnenforcedSelectors(out, policy), []);
          for (const node of parsed.selectors) {
            const sel = decodeSelector(node, out);
            for (const series of SERIES) {
              if (selects(sel, series)) assert.ok(isAllowed(series), `${out} selects ${JSON.stringify(series)}`);
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('enforceQuery property under a policy of several selectors (DNF)', () => {
  const DNF: [string, LabelPolicy, (s: Series) => boolean][] = [
    [
      'two labels or one',
      buildSelectorsPolicy([{ namespace: 'team-a', cluster: 'eu' }, { namespace: 'stolon' }]) as LabelPolicy,
      (s) => (s.namespace === 'team-a' && s.cluster === 'eu') || s.namespace === 'stolon',
    ],
    [
      'a regex selector and a cluster selector',
      buildSelectorsPolicy([{ namespace: 'min.*' }, { cluster: 'us', namespace: ['team-a', 'team-b'] }]) as LabelPolicy,
      (s) => /^min.*$/.test(s.namespace ?? '') || (s.cluster === 'us' && (s.namespace === 'team-a' || s.namespace === 'team-b')),
    ],
  ];
  for (const [name, policy, isAllowed] of DNF) {
    it(`every selector of the rewrite selects only series of the union (${name})`, () => {
      fc.assert(
        fc.property(expr, (query) => {
          const out = enforceQuery(query, policy);
          const parsed = parsePromQL(out);
          assert.deepEqual(findUnenforcedSelectors(out, policy), []);
          for (const node of parsed.selectors) {
            const sel = decodeSelector(node, out);
            for (const series of SERIES) {
              if (selects(sel, series)) assert.ok(isAllowed(series), `${out} selects ${JSON.stringify(series)}`);
            }
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});
