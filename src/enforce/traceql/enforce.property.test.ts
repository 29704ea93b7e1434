import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parser } from '@grafana/lezer-traceql';
import { buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { enforceTraceQuery } from './enforce.js';

const policy = buildLabelPolicy({ values: ['a', 'b'] }) as LabelPolicy;
const POLICY_TEXT = 'resource.namespace =~ "^(?:a|b)$"';

// Hostile string values: braces, operators and escaped quotes that a textual rewrite could trip on.
const stringValue = fc
  .array(fc.constantFrom('a', '}', '{', '||', '&&', '\\"', ' ', '/*', '//', 'x'), { maxLength: 5 })
  .map((parts) => `"${parts.join('')}"`);
const attribute = fc.constantFrom('.a', 'span.b', 'resource.namespace', 'span.namespace', 'duration', 'name');
const comparison = fc
  .tuple(attribute, fc.constantFrom('=', '!=', '=~', '>'), fc.oneof(stringValue, fc.constantFrom('1', '2s', 'nil')))
  .map(([a, op, v]) => `${a} ${op} ${v}`);
const condition: fc.Arbitrary<string> = fc.letrec<{ cond: string }>((tie) => ({
  cond: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('cond'), fc.constantFrom('&&', '||'), tie('cond')).map(([l, op, r]) => `${l} ${op} ${r}`),
    tie('cond').map((c) => `(${c})`),
    tie('cond').map((c) => `!(${c})`),
  ),
})).cond;
const filter = fc.oneof(
  fc.constant('{}'),
  fc.constant('{ /* c */ }'),
  condition.map((c) => `{ ${c} }`),
);
const spanset: fc.Arbitrary<string> = fc.letrec<{ set: string }>((tie) => ({
  set: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    filter,
    fc
      .tuple(tie('set'), fc.constantFrom('&&', '||', '>>', '>', '<<', '<', '~', '!>>', '!>', '&>>'), tie('set'))
      .map(([l, op, r]) => `${l} ${op} ${r}`),
    tie('set').map((s) => `(${s})`),
  ),
})).set;
const stage = fc.constantFrom('| count() > 2', '| select(span.foo)', '| by(resource.x)', '| avg(duration) > 1s', '| { .c = 3 }', '');
const query = fc.tuple(spanset, stage, fc.constantFrom('', ' // } || {}')).map(([s, p, c]) => `${s} ${p}${c}`);

/** Every spanset filter of the output, as the parser sees it, must end in `&& <policy>` or be `{ <policy> }`. */
function unenforcedFilters(output: string, POLICY = POLICY_TEXT): string[] {
  const bad: string[] = [];
  parser.parse(output).iterate({
    enter(ref) {
      assert.ok(!ref.type.isError, `output does not parse: ${output}`);
      if (ref.name !== 'SpansetFilter') return;
      const cond = ref.node.getChild('FieldExpression');
      const text = output.slice(ref.from, ref.to);
      if (cond === null) return void bad.push(text);
      if (output.slice(cond.from, cond.to) === POLICY) return;
      const last = cond.lastChild;
      const op = last?.prevSibling;
      if (last === null || op?.name !== 'And' || output.slice(last.from, last.to) !== POLICY) bad.push(text);
    },
  });
  return bad;
}

function countFilters(text: string): number {
  let n = 0;
  parser.parse(text).iterate({ enter: (ref) => void (ref.name === 'SpansetFilter' && n++) });
  return n;
}

describe('enforceTraceQuery (property)', () => {
  it('ANDs the policy into every spanset filter of the re-parsed output, and drops none', () => {
    fc.assert(
      fc.property(query, (q) => {
        const out = enforceTraceQuery(q, policy);
        assert.deepEqual(unenforcedFilters(out), [], out);
        assert.equal(countFilters(out), countFilters(q), out);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent in effect: enforcing twice still leaves every filter enforced', () => {
    fc.assert(
      fc.property(query, (q) => {
        const twice = enforceTraceQuery(enforceTraceQuery(q, policy), policy);
        assert.deepEqual(unenforcedFilters(twice), []);
      }),
      { numRuns: 200 },
    );
  });
});

describe('enforceTraceQuery (property) under a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', cluster: 'eu' }, { namespace: ['b', 'team-.*'] }]) as LabelPolicy;
  const DISJUNCTION = '((resource.namespace = "a" && resource.cluster = "eu") || (resource.namespace =~ "^(?:b|team-.*)$"))';
  it('ANDs the whole disjunction into every spanset filter of the re-parsed output, and drops none', () => {
    fc.assert(
      fc.property(query, (q) => {
        const out = enforceTraceQuery(q, dnf);
        assert.deepEqual(unenforcedFilters(out, DISJUNCTION), [], out);
        assert.equal(countFilters(out), countFilters(q), out);
      }),
      { numRuns: 300 },
    );
  });
});
