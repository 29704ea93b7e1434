import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildLabelPolicy, buildSelectorsPolicy, ruleToMatcher, type LabelPolicy } from '../../policy/label-policy.js';
import { enforceLogQuery } from './enforce.js';
import { quoteGoString } from '../go-string.js';
import { findSelectors, parseLogQuery } from './parse.js';
import { readSelectorMatchers } from './selector.js';

const POLICY = buildLabelPolicy({ values: ['team-a', 'team-b'], labels: { cluster: 'eu' } }) as LabelPolicy;

const label = fc.constantFrom('namespace', 'cluster', 'app', 'job');
const op = fc.constantFrom('=', '!=', '=~', '!~');
const value = fc.oneof(fc.constantFrom('team-a', 'team-b', 'eu', '.+', ''), fc.string({ maxLength: 6 }));
const matcher = fc.tuple(label, op, value).map(([l, o, v]) => `${l}${o}${quoteGoString(v)}`);
const selector = fc.array(matcher, { minLength: 1, maxLength: 4 }).map((ms) => `{${ms.join(', ')}}`);
const stage = fc.constantFrom('', ' |= "x"', ' | json', ' | logfmt | level="e"', ' | label_format namespace="z"');
const logExpr = fc.tuple(selector, stage).map(([s, p]) => s + p);
const rangeOp = fc.constantFrom('rate', 'count_over_time', 'bytes_over_time');
const metric = fc.tuple(rangeOp, logExpr).map(([f, e]) => `${f}(${e} [5m])`);
const aggregated = fc
  .tuple(fc.constantFrom('sum', 'max by (app)', 'topk(2,'), metric)
  .map(([agg, m]) => (agg.endsWith(',') ? `${agg} ${m})` : `${agg} (${m})`));
const metricQuery = fc.oneof(
  metric,
  aggregated,
  fc.tuple(metric, fc.constantFrom(' or ', ' / ', ' and '), aggregated).map(([a, o, b]) => a + o + b),
  metric.map((m) => `${m} or vector(0)`),
);
const query = fc.oneof(logExpr, metricQuery);

/** True when the selector's matchers confine it to the policy: per rule, the policy matcher or a literal. */
function isConfined(matchers: readonly { label: string; op: string; value: string }[]): boolean {
  if (POLICY.fullAccess) return true;
  return POLICY.selectors.every((rules) =>
    rules.every((rule) => {
      const positives = matchers.filter((m) => m.label === rule.label && (m.op === '=' || m.op === '=~'));
      const wanted = ruleToMatcher(rule);
      const hasPolicy = positives.some((m) => m.op === wanted.op && m.value === wanted.value);
      const onlyAllowed = positives.every(
        (m) => (m.op === wanted.op && m.value === wanted.value) || (m.op === '=' && rule.literals.includes(m.value)),
      );
      return positives.length > 0 && onlyAllowed && (hasPolicy || positives.some((m) => m.op === '='));
    }),
  );
}

describe('enforceLogQuery properties', () => {
  it('generated queries parse before and after, and every selector carries the policy', () => {
    fc.assert(
      fc.property(query, (q) => {
        const before = findSelectors(parseLogQuery(q)).length;
        const out = parseLogQuery(enforceLogQuery(q, POLICY));
        const selectors = findSelectors(out);
        assert.equal(selectors.length, before);
        for (const node of selectors) assert.ok(isConfined(readSelectorMatchers(out, node)), out.text);
      }),
      { numRuns: 300 },
    );
  });

  it('matchers on unconstrained labels survive with their exact values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: 'grapheme' })), (v) => {
        const out = parseLogQuery(enforceLogQuery(`{app=${quoteGoString(v)}}`, POLICY));
        const [node] = findSelectors(out);
        assert.ok(node);
        assert.deepEqual(readSelectorMatchers(out, node)[0], { label: 'app', op: '=', value: v });
      }),
      { numRuns: 200 },
    );
  });
});

// Several selectors (DNF): for random metric queries and random policies, the copies of each stream selector
// select, together, exactly the streams the client's selector selects among those the policy allows (JS
// evaluation over a fixed stream set, independent of the enforcer's code); a refusal is InexpressiblePolicy only.
describe('enforceLogQuery properties under a policy of several selectors', () => {
  const STREAMS: Record<string, string>[] = [];
  for (const namespace of ['team-a', 'team-b', 'ops', undefined]) {
    for (const cluster of ['eu', 'us', undefined]) {
      for (const app of ['x', 'y']) STREAMS.push({ app, ...(namespace ? { namespace } : {}), ...(cluster ? { cluster } : {}) });
    }
  }
  const policyValue = fc.constantFrom<string | string[]>('team-a', 'team-b', ['team-a', 'ops'], 'team-.*', 'eu', 'us');
  const policySelector = fc
    .record({ namespace: fc.option(policyValue, { nil: undefined }), cluster: fc.option(fc.constantFrom('eu', 'us'), { nil: undefined }) })
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Record<string, string | string[]>)
    .filter((r) => Object.keys(r).length > 0);
  const policyArb = fc
    .array(policySelector, { minLength: 2, maxLength: 3 })
    .map((s) => buildSelectorsPolicy(s))
    .filter((p): p is LabelPolicy & { fullAccess: false } => p !== undefined && !p.fullAccess && p.selectors.length > 1);
  const userMatcher = fc
    .tuple(fc.constantFrom('namespace', 'cluster', 'app'), op, fc.constantFrom('team-a', 'eu', 'x', '.+', '.*', '', 'team-.*'))
    .map(([l, o, v]) => `${l}${o}${quoteGoString(v)}`);
  const userSelector = fc.array(userMatcher, { minLength: 1, maxLength: 3 }).map((ms) => `{${ms.join(', ')}}`);
  const safeStage = fc.constantFrom('', ' |= "x"', ' | json', ' | logfmt | level="e"');
  const unionQuery = fc
    .tuple(fc.constantFrom('rate', 'count_over_time'), userSelector, safeStage, fc.constantFrom('', 'sum by (app) ', 'max '))
    .map(([f, s, p, agg]) => (agg === '' ? `${f}(${s}${p} [5m])` : `${agg}(${f}(${s}${p} [5m]))`));

  const selects = (matchers: readonly { label: string; op: string; value: string }[], stream: Record<string, string>) =>
    matchers.every(({ label: l, op: o, value: v }) => {
      const actual = stream[l] ?? '';
      const re = new RegExp(`^(?:${v})$`, 's');
      return o === '=' ? actual === v : o === '!=' ? actual !== v : o === '=~' ? re.test(actual) : !re.test(actual);
    });
  const allows = (policy: LabelPolicy & { fullAccess: false }, stream: Record<string, string>) =>
    policy.selectors.some((s) =>
      s.every((rule) => {
        const v = stream[rule.label];
        return v !== undefined && (rule.literals.includes(v) || rule.regexes.some((re) => new RegExp(`^(?:${re})$`).test(v)));
      }),
    );

  it('the copies of a selector select exactly its streams inside the union', () => {
    fc.assert(
      fc.property(unionQuery, policyArb, (q, policy) => {
        const parsed = parseLogQuery(q);
        const [first] = findSelectors(parsed);
        assert.ok(first);
        const original = readSelectorMatchers(parsed, first);
        const out = parseLogQuery(enforceLogQuery(q, policy));
        const copies = findSelectors(out).map((node) => readSelectorMatchers(out, node));
        assert.equal(copies.length, policy.selectors.length);
        for (const stream of STREAMS) {
          const got = copies.some((m) => selects(m, stream));
          const want = selects(original, stream) && allows(policy, stream);
          assert.equal(got, want, `${out.text} on ${JSON.stringify(stream)}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
