import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import type { TraceQueryOptions } from './conditions.js';
import { filterTraceResponse, type TraceResponseFormat } from './trace-response.js';

const nsA = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const nsRegex = buildLabelPolicy({ values: ['team-.*'] }) as LabelPolicy;
const nsOutsideSubset = buildLabelPolicy({ values: ['team-\\w+'] }) as LabelPolicy;
const nsAndCluster = buildLabelPolicy({ values: ['team-a'], labels: { cluster: 'eu' } }) as LabelPolicy;
const K8S: TraceQueryOptions = { attributes: { namespace: 'k8s.namespace.name' } };

type Attributes = Record<string, unknown>;

/** One ResourceSpans with the given resource attributes (string values as OTLP JSON writes them). */
function batch(name: string, attributes: Attributes | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { scopeSpans: [{ spans: [{ name }] }] };
  if (attributes !== undefined) {
    out.resource = {
      attributes: Object.entries(attributes).map(([key, value]) => ({
        key,
        value: typeof value === 'string' ? { stringValue: value } : value,
      })),
    };
  }
  return out;
}

const A = batch('a', { namespace: 'team-a', 'service.name': 'api' });
const B = batch('b', { namespace: 'team-b', 'service.name': 'db' });
const A_K8S = batch('a-k8s', { 'k8s.namespace.name': 'team-a' });

function v1(...batches: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ batches }));
}
function v2(...resourceSpans: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ trace: { resourceSpans }, status: 'COMPLETE' }));
}

interface Row {
  readonly name: string;
  readonly body: Buffer;
  readonly format: TraceResponseFormat;
  readonly policy?: LabelPolicy;
  readonly options?: TraceQueryOptions;
  /** The span names kept, or 'none' for "answer 404". */
  readonly want: readonly string[] | 'none';
}

const rows: Row[] = [
  { name: 'v1 keeps only the batches of the namespace', body: v1(A, B), format: 'v1', want: ['a'] },
  { name: 'v2 keeps only the resource spans of the namespace', body: v2(B, A), format: 'v2', want: ['a'] },
  { name: 'a trace with none of the namespace is none', body: v1(B), format: 'v1', want: 'none' },
  { name: 'v2 with none of the namespace is none', body: v2(B), format: 'v2', want: 'none' },
  { name: 'an empty v1 trace is none', body: Buffer.from('{}'), format: 'v1', want: 'none' },
  { name: 'a v2 answer without a trace is none', body: Buffer.from('{"status":"PARTIAL"}'), format: 'v2', want: 'none' },
  {
    name: "a resource without the attribute is not the tenant's",
    body: v1(batch('x', { 'service.name': 'api' }), A),
    format: 'v1',
    want: ['a'],
  },
  { name: "a batch without a resource is not the tenant's", body: v1(batch('x', undefined)), format: 'v1', want: 'none' },
  {
    name: 'a span attribute does not count, only the resource',
    body: v1({ scopeSpans: [{ spans: [{ name: 's', attributes: [{ key: 'namespace', value: { stringValue: 'team-a' } }] }] }] }),
    format: 'v1',
    want: 'none',
  },
  { name: "a non-string value is not the tenant's", body: v1(batch('x', { namespace: { intValue: '1' } })), format: 'v1', want: 'none' },
  {
    name: "an array value holding the name is not the tenant's",
    body: v1(batch('x', { namespace: { arrayValue: { values: [{ stringValue: 'team-a' }] } } })),
    format: 'v1',
    want: 'none',
  },
  {
    name: "a key repeated with another value is not the tenant's",
    body: v1({
      resource: {
        attributes: [
          { key: 'namespace', value: { stringValue: 'team-a' } },
          { key: 'namespace', value: { stringValue: 'team-b' } },
        ],
      },
      scopeSpans: [{ spans: [{ name: 'dup' }] }],
    }),
    format: 'v1',
    want: 'none',
  },
  {
    name: 'a key repeated with the same value is kept',
    body: v1({
      resource: {
        attributes: [
          { key: 'namespace', value: { stringValue: 'team-a' } },
          { key: 'namespace', value: { stringValue: 'team-a' } },
        ],
      },
      scopeSpans: [{ spans: [{ name: 'dup' }] }],
    }),
    format: 'v1',
    want: ['dup'],
  },
  { name: 'the traceql attribute mapping is used', body: v1(A, A_K8S), format: 'v1', options: K8S, want: ['a-k8s'] },
  { name: 'with a mapping, the bare label name does not count', body: v2(A), format: 'v2', options: K8S, want: 'none' },
  {
    name: 'a regex in the safe subset matches',
    body: v1(A, B, batch('c', { namespace: 'other' })),
    format: 'v1',
    policy: nsRegex,
    want: ['a', 'b'],
  },
  { name: 'a regex outside the safe subset allows nothing', body: v1(A, B), format: 'v1', policy: nsOutsideSubset, want: 'none' },
  {
    name: 'every rule must hold',
    body: v1(A, batch('eu', { namespace: 'team-a', cluster: 'eu' }), batch('us', { namespace: 'team-a', cluster: 'us' })),
    format: 'v1',
    policy: nsAndCluster,
    want: ['eu'],
  },
  {
    name: 'older instrumentationLibrarySpans batches are kept whole',
    body: v1({
      resource: { attributes: [{ key: 'namespace', value: { stringValue: 'team-a' } }] },
      instrumentationLibrarySpans: [{ spans: [{ name: 'old' }] }],
    }),
    format: 'v1',
    want: ['old'],
  },
];

function spanNames(out: Buffer, format: TraceResponseFormat): string[] {
  const parsed = JSON.parse(out.toString('utf8')) as { batches?: unknown[]; trace?: { resourceSpans: unknown[] } };
  const list = (format === 'v1' ? parsed.batches : parsed.trace?.resourceSpans) ?? [];
  return list.flatMap((b) => {
    const r = b as { scopeSpans?: { spans: { name: string }[] }[]; instrumentationLibrarySpans?: { spans: { name: string }[] }[] };
    return (r.scopeSpans ?? r.instrumentationLibrarySpans ?? []).flatMap((s) => s.spans.map((span) => span.name));
  });
}

describe('filterTraceResponse', () => {
  for (const row of rows) {
    it(row.name, () => {
      const out = filterTraceResponse(row.body, row.policy ?? nsA, row.format, row.options);
      if (row.want === 'none') {
        assert.equal(out, undefined);
        return;
      }
      assert.ok(out);
      assert.deepEqual(spanNames(out, row.format), row.want);
    });
  }

  it('keeps a kept batch exactly as received and the v2 fields beside the trace', () => {
    const out = filterTraceResponse(
      Buffer.from(JSON.stringify({ trace: { resourceSpans: [A, B] }, status: 'PARTIAL', message: 'm' })),
      nsA,
      'v2',
    );
    assert.deepEqual(JSON.parse(out?.toString() ?? ''), { trace: { resourceSpans: [A] }, status: 'PARTIAL', message: 'm' });
  });

  it('returns the same body for full access', () => {
    const body = v1(A, B);
    assert.equal(filterTraceResponse(body, FULL_ACCESS, 'v1'), body);
    const garbage = Buffer.from('not json');
    assert.equal(filterTraceResponse(garbage, FULL_ACCESS, 'v2'), garbage);
  });

  const malformed: [string, string, TraceResponseFormat][] = [
    ['not JSON', '<html>', 'v1'],
    ['protobuf bytes', '\n\u0002\n\u0000', 'v1'],
    ['a list', '[]', 'v1'],
    ['batches not a list', '{"batches":{}}', 'v1'],
    ['a batch not an object', '{"batches":[1]}', 'v1'],
    ['attributes not a list', '{"batches":[{"resource":{"attributes":{}}}]}', 'v1'],
    ['an attribute key not a string', '{"batches":[{"resource":{"attributes":[{"key":1}]}}]}', 'v1'],
    ['trace not an object', '{"trace":[]}', 'v2'],
    ['resourceSpans not a list', '{"trace":{"resourceSpans":"x"}}', 'v2'],
  ];
  for (const [name, body, format] of malformed) {
    it(`refuses ${name} (never passed unfiltered)`, () => {
      assert.throws(() => filterTraceResponse(Buffer.from(body), nsA, format), UnsupportedInput);
    });
  }
});

describe('compileResourceCheck under a policy of several selectors (DNF)', () => {
  it('a resource is allowed when its attributes satisfy one selector, with the configured attribute names', async () => {
    const { compileResourceCheck } = await import('./resource-attributes.js');
    const { buildSelectorsPolicy } = await import('../../policy/label-policy.js');
    const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
    const check = compileResourceCheck(dnf, { attributes: { namespace: 'k8s.namespace.name' } });
    assert.deepEqual([...check.attributes].sort(), ['env', 'k8s.namespace.name']);
    const resource = (entries: Record<string, string>) => new Map(Object.entries(entries));
    assert.equal(check.isAllowed(resource({ 'k8s.namespace.name': 'a', env: 'prod' })), true);
    assert.equal(check.isAllowed(resource({ 'k8s.namespace.name': 'shared' })), true);
    assert.equal(check.isAllowed(resource({ 'k8s.namespace.name': 'a', env: 'dev' })), false);
    assert.equal(check.isAllowed(resource({ 'k8s.namespace.name': 'a' })), false);
    assert.equal(check.isAllowed(resource({ namespace: 'shared' })), false, 'the label name is not the attribute');
  });
});
