import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import {
  decodeRequestV2LabelNames,
  decodeRequestV2Labels,
  encodeRequestV2,
  encodeRequestV2Message,
  RequestV2,
  type V2Series,
} from '../../../test/servers/remote-write-v2-body.js';
import { buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { countRemoteWriteSeries, enforceRemoteWrite, type RemoteWriteOptions } from './remote-write.js';

const V2 = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
const nsA = buildLabelPolicy({ values: ['a'] }) as LabelPolicy;
const nsRegex = buildLabelPolicy({ values: ['a', 'team-.*'], labels: { cluster: 'eu' } }) as LabelPolicy;
const strict: RemoteWriteOptions = {
  contentType: V2,
  contentEncoding: 'snappy',
  injectLabels: false,
  maxDecompressedBytes: 1 << 20,
  acceptsRemoteWrite2: true,
};
const inject: RemoteWriteOptions = { ...strict, injectLabels: true };

// What the enforcer promises to read: symbols, label, exemplar and metadata references; samples and histograms
// are carried as their bytes, so the independent decode reads them as opaque bytes too.
const OpaqueRequest = protobuf
  .parse(`
syntax = "proto3";
message Request { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
message TimeSeries { repeated uint32 labels_refs = 1; repeated bytes samples = 2; repeated bytes histograms = 3; repeated Exemplar exemplars = 4; Metadata metadata = 5; }
message Exemplar { repeated uint32 labels_refs = 1; }
message Metadata { uint32 help_ref = 3; uint32 unit_ref = 4; }
`)
  .root.lookupType('Request');

/** A Request built field by field (symbols and series as protobufjs objects), for the malformed cases. */
function raw(request: { symbols: string[]; timeseries: Record<string, unknown>[] }): Buffer {
  return Buffer.from(snappy.compress(Buffer.from(RequestV2.encode(RequestV2.fromObject(request)).finish())));
}

function refusal(body: Buffer, policy: LabelPolicy, options: RemoteWriteOptions): string {
  try {
    enforceRemoteWrite(body, policy, options);
  } catch (err) {
    if (err instanceof PolicyViolation) return `policy: ${err.message}`;
    if (err instanceof UnsupportedInput) return `${err.mediaType ? 'media type' : 'malformed'}: ${err.message}`;
    throw err;
  }
  return 'accepted';
}

describe('enforceRemoteWrite, remote write 2.0 (bodies from protobufjs and the published .proto)', () => {
  it('forwards allowed series byte for byte and counts them', () => {
    const body = encodeRequestV2([
      { labels: { __name__: 'up', namespace: 'a', pod: 'p1' } },
      { labels: { __name__: 'up', namespace: 'a', pod: 'p2' }, exemplar: { trace_id: 'abc' }, help: 'h' },
    ]);
    const got = enforceRemoteWrite(body, nsA, strict);
    assert.equal(got.body, body);
    assert.equal(got.seriesCount, 2);
    assert.equal(countRemoteWriteSeries(body, V2, 1 << 20), 2);
  });

  const refused: { name: string; series: V2Series[]; policy?: LabelPolicy; want: RegExp }[] = [
    {
      name: 'another namespace',
      series: [{ labels: { __name__: 'up', namespace: 'b' } }],
      want: /series up: label "namespace" value not allowed/,
    },
    { name: 'missing label', series: [{ labels: { __name__: 'up' } }], want: /series up: label "namespace" is missing/ },
    { name: 'empty value', series: [{ labels: { __name__: 'up', namespace: '' } }], want: /is missing/ },
    {
      name: 'regex anchored',
      series: [{ labels: { __name__: 'up', namespace: 'xteam-1', cluster: 'eu' } }],
      policy: nsRegex,
      want: /"namespace" value not allowed/,
    },
    {
      name: 'second rule',
      series: [{ labels: { __name__: 'up', namespace: 'team-1', cluster: 'us' } }],
      policy: nsRegex,
      want: /"cluster" value not allowed/,
    },
    {
      name: 'the allowed value only as an exemplar label',
      series: [{ labels: { __name__: 'up', namespace: 'b' }, exemplar: { namespace: 'a' } }],
      want: /not allowed/,
    },
  ];
  for (const c of refused) {
    it(`refuses a series: ${c.name}`, () => {
      const body = encodeRequestV2([{ labels: { __name__: 'ok', namespace: 'a', cluster: 'eu' } }, ...c.series]);
      assert.match(refusal(body, c.policy ?? nsA, strict), new RegExp(`^policy: .*${c.want.source}`));
    });
  }

  it('accepts a value matching a regex rule, judged once per symbol', () => {
    const body = encodeRequestV2(
      Array.from({ length: 5 }, (_, i) => ({ labels: { __name__: 'up', namespace: 'team-1', cluster: 'eu', pod: `p${i}` } })),
    );
    assert.equal(enforceRemoteWrite(body, nsRegex, strict).body, body);
  });

  it('refuses a constrained label sent twice', () => {
    const body = raw({
      symbols: ['', 'namespace', 'a', 'b'],
      timeseries: [{ labelsRefs: [1, 2, 1, 3], samples: [{ value: 1, timestamp: 1 }] }],
    });
    assert.match(refusal(body, nsA, inject), /^policy: .*more than once/);
  });

  const malformed: { name: string; symbols: string[]; series: Record<string, unknown> }[] = [
    { name: 'a label reference past the table', symbols: ['', 'namespace', 'a'], series: { labelsRefs: [1, 3] } },
    { name: 'a huge label reference', symbols: ['', 'namespace', 'a'], series: { labelsRefs: [1, 0x7fffffff] } },
    { name: 'labels_refs of odd length', symbols: ['', 'namespace', 'a'], series: { labelsRefs: [1, 2, 1] } },
    {
      name: 'an exemplar reference past the table',
      symbols: ['', 'namespace', 'a'],
      series: { labelsRefs: [1, 2], exemplars: [{ labelsRefs: [1, 9], value: 1 }] },
    },
    {
      name: 'an exemplar labels_refs of odd length',
      symbols: ['', 'namespace', 'a'],
      series: { labelsRefs: [1, 2], exemplars: [{ labelsRefs: [1], value: 1 }] },
    },
    {
      name: 'a help reference past the table',
      symbols: ['', 'namespace', 'a'],
      series: { labelsRefs: [1, 2], metadata: { type: 1, helpRef: 3 } },
    },
    {
      name: 'a unit reference past the table',
      symbols: ['', 'namespace', 'a'],
      series: { labelsRefs: [1, 2], metadata: { type: 1, unitRef: 40 } },
    },
    { name: 'no symbols at all', symbols: [], series: { labelsRefs: [0, 0] } },
  ];
  for (const c of malformed) {
    it(`refuses malformed symbol references (400): ${c.name}`, () => {
      const body = raw({ symbols: c.symbols, timeseries: [{ ...c.series, samples: [{ value: 1, timestamp: 1 }] }] });
      assert.match(refusal(body, nsA, strict), /^malformed: /);
    });
  }

  it('refuses a symbol that is not UTF-8, an overlong varint reference and a wrong wire type', () => {
    const good = encodeRequestV2Message([{ labels: { namespace: 'a' } }]);
    const extras: Record<string, number[]> = {
      'invalid UTF-8 symbol': [0x22, 0x02, 0xc0, 0x80],
      'symbols as a varint': [0x20, 0x01],
      'timeseries as a fixed32': [0x2d, 0, 0, 0, 0],
      'overlong reference': [0x2a, 0x08, 0x0a, 0x06, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00],
      'labels_refs as a fixed64': [0x2a, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0, 0],
      'truncated packed refs': [0x2a, 0x03, 0x0a, 0x01, 0x81],
    };
    for (const [name, bytes] of Object.entries(extras)) {
      const body = Buffer.from(snappy.compress(Buffer.concat([good, Buffer.from(bytes)])));
      assert.match(refusal(body, nsA, strict), /^malformed: /, name);
    }
  });

  it('reads unpacked label references as Go does', () => {
    // labels_refs written one varint field per element (wire type 0), as a proto2-style sender may.
    const series = Buffer.from([0x08, 0x01, 0x08, 0x02, 0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    const symbols = Buffer.concat([
      Buffer.from([0x22, 0x00]),
      Buffer.from([0x22, 0x09]),
      Buffer.from('namespace'),
      Buffer.from([0x22, 0x01, 0x61]),
    ]);
    const body = Buffer.from(snappy.compress(Buffer.concat([symbols, Buffer.from([0x2a, series.length]), series])));
    assert.equal(enforceRemoteWrite(body, nsA, strict).seriesCount, 1);
    assert.deepEqual(decodeRequestV2Labels(body), [{ namespace: 'a' }]);
  });

  it('injects into a series whose labels_refs come as an empty packed field and unpacked varints', () => {
    // symbols "", "__name__", "up"; the series: an empty packed labels_refs, then 1 and 2 unpacked, then a sample.
    const symbols = Buffer.concat([
      Buffer.from([0x22, 0x00, 0x22, 0x08]),
      Buffer.from('__name__'),
      Buffer.from([0x22, 0x02]),
      Buffer.from('up'),
    ]);
    const series = Buffer.from([0x0a, 0x00, 0x08, 0x01, 0x08, 0x02, 0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    const body = Buffer.from(snappy.compress(Buffer.concat([symbols, Buffer.from([0x2a, series.length]), series])));
    const got = enforceRemoteWrite(body, nsA, inject);
    assert.deepEqual(decodeRequestV2Labels(got.body), [{ __name__: 'up', namespace: 'a' }]);
    assert.deepEqual(decodeRequestV2LabelNames(got.body), [['__name__', 'namespace']]);
  });

  it('injects a missing label through the symbol table, keeps names sorted, samples, exemplars and metadata', () => {
    const body = encodeRequestV2([
      { labels: { __name__: 'up', job: 'x', zone: 'z' }, exemplar: { trace_id: 't' }, help: 'help text' },
      { labels: { __name__: 'kept', namespace: 'a' } },
      { labels: { __name__: 'empty', namespace: '' } },
    ]);
    const got = enforceRemoteWrite(body, nsA, inject);
    assert.equal(got.isModified, true);
    assert.deepEqual(decodeRequestV2Labels(got.body), [
      { __name__: 'up', job: 'x', namespace: 'a', zone: 'z' },
      { __name__: 'kept', namespace: 'a' },
      { __name__: 'empty', namespace: 'a' },
    ]);
    assert.deepEqual(decodeRequestV2LabelNames(got.body)[0], ['__name__', 'job', 'namespace', 'zone']);
    const before = RequestV2.toObject(RequestV2.decode(snappy.uncompress(body)), { longs: String }) as {
      symbols: string[];
      timeseries: Record<string, unknown>[];
    };
    const after = RequestV2.toObject(RequestV2.decode(snappy.uncompress(got.body)), { longs: String }) as typeof before;
    // "a" was already a symbol (series 2): reused, nothing appended.
    assert.deepEqual(after.symbols, before.symbols);
    const strip = (s: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'labelsRefs'));
    assert.deepEqual(after.timeseries.map(strip), before.timeseries.map(strip));
  });

  it('appends new symbols after the last symbols field, even when series come first on the wire', () => {
    const message = encodeRequestV2Message([{ labels: { __name__: 'up', job: 'x' } }]);
    // Move the series before the symbols: protobuf allows any field order; references index symbols in wire order.
    const decoded = RequestV2.decode(message) as unknown as { symbols: string[]; timeseries: unknown[] };
    const series = RequestV2.encode(RequestV2.fromObject({ timeseries: decoded.timeseries })).finish();
    const symbols = RequestV2.encode(RequestV2.fromObject({ symbols: decoded.symbols })).finish();
    for (const order of [
      [series, symbols],
      [symbols, series],
    ]) {
      const body = Buffer.from(snappy.compress(Buffer.concat(order.map((b) => Buffer.from(b)))));
      const got = enforceRemoteWrite(body, nsA, inject);
      assert.deepEqual(decodeRequestV2Labels(got.body), [{ __name__: 'up', job: 'x', namespace: 'a' }]);
    }
  });

  it('is refused with 415 where the upstream does not read 2.0', () => {
    const body = encodeRequestV2([{ labels: { namespace: 'a' } }]);
    assert.match(refusal(body, nsA, { ...strict, acceptsRemoteWrite2: false }), /^media type: /);
  });
});

describe('enforceRemoteWrite, remote write 2.0, properties (against the protobufjs decode)', () => {
  it('decides random requests as a reference model over the protobufjs decode does', () => {
    const value = fc.constantFrom('a', 'b', '', 'team-1', 'eu', 'us', 'é');
    const labels = fc.dictionary(fc.constantFrom('__name__', 'namespace', 'cluster', 'pod', 'job'), value, { maxKeys: 4 });
    fc.assert(
      fc.property(fc.array(labels, { maxLength: 4 }), fc.boolean(), (sets, injecting) => {
        const body = encodeRequestV2(sets.map((l) => ({ labels: l })));
        const rules = nsRegex.fullAccess ? [] : (nsRegex.selectors[0] ?? []);
        const verdicts = sets.map((l) => {
          for (const rule of rules) {
            const v = l[rule.label] ?? '';
            if (v === '') {
              if (!(injecting && rule.regexes.length === 0 && rule.literals.length === 1)) return 'refused';
            } else if (!rule.literals.includes(v) && !rule.regexes.some((re) => new RegExp(`^(?:${re})$`, 'u').test(v))) return 'refused';
          }
          return 'ok';
        });
        const got = refusal(body, nsRegex, injecting ? inject : strict);
        if (verdicts.includes('refused')) return assert.match(got, /^policy: /);
        assert.equal(got, 'accepted');
        const out = enforceRemoteWrite(body, nsRegex, injecting ? inject : strict);
        for (const l of decodeRequestV2Labels(out.body)) {
          assert.equal(l['cluster'], 'eu');
          assert.ok(l['namespace'] === 'a' || /^team-.*$/.test(l['namespace'] ?? ''));
        }
        for (const names of decodeRequestV2LabelNames(out.body)) assert.deepEqual(names, [...names].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('refuses mutated bodies, or accepts only what the independent decode resolves and allows', () => {
    const labels = fc.dictionary(fc.constantFrom('__name__', 'namespace', 'pod'), fc.constantFrom('a', 'b', 'up', 'p'), { maxKeys: 3 });
    const mutated = fc
      .tuple(
        fc
          .array(labels, { minLength: 1, maxLength: 3 })
          .map((sets) => encodeRequestV2Message(sets.map((l) => ({ labels: l, exemplar: { trace_id: 'a' } })))),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'truncate', 'insert')), {
          minLength: 1,
          maxLength: 3,
        }),
      )
      .map(([message, mutations]) => {
        let bytes = Buffer.from(message);
        for (const [at, byte, kind] of mutations) {
          if (bytes.length === 0) break;
          const i = at % bytes.length;
          if (kind === 'set') bytes[i] = byte;
          else if (kind === 'truncate') bytes = bytes.subarray(0, i);
          else bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
        }
        return bytes;
      });
    fc.assert(
      fc.property(mutated, fc.boolean(), (message, injecting) => {
        let out: Buffer;
        try {
          out = enforceRemoteWrite(Buffer.from(snappy.compress(message)), nsA, injecting ? inject : strict).body;
        } catch (err) {
          if (err instanceof PolicyViolation || err instanceof UnsupportedInput) return;
          throw err;
        }
        const decoded = OpaqueRequest.toObject(OpaqueRequest.decode(snappy.uncompress(out)), { defaults: true, arrays: true }) as {
          symbols: string[];
          timeseries: { labelsRefs: number[]; exemplars: { labelsRefs: number[] }[]; metadata?: { helpRef: number; unitRef: number } }[];
        };
        for (const s of decoded.timeseries) {
          assert.equal(s.labelsRefs.length % 2, 0);
          for (const ref of [
            ...s.labelsRefs,
            ...s.exemplars.flatMap((e) => e.labelsRefs),
            s.metadata?.helpRef ?? 0,
            s.metadata?.unitRef ?? 0,
          ])
            assert.ok(ref < decoded.symbols.length, `ref ${ref}`);
          const values = s.labelsRefs
            .filter((_, i) => i % 2 === 1 && decoded.symbols[s.labelsRefs[i - 1] as number] === 'namespace')
            .map((r) => decoded.symbols[r]);
          assert.deepEqual(values, ['a']);
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('enforceRemoteWrite, remote write 2.0, under a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: ['shared', 'ops-.*'] }]) as LabelPolicy;

  it('a series satisfying one selector is forwarded byte for byte, however many series share its symbols', () => {
    const body = encodeRequestV2([
      { labels: { __name__: 'up', namespace: 'a', env: 'prod' } },
      { labels: { __name__: 'up', namespace: 'shared', env: 'dev' } },
      { labels: { __name__: 'up', namespace: 'ops-1', env: 'prod' } },
      { labels: { __name__: 'up', namespace: 'a', env: 'prod', pod: 'p' } },
    ]);
    const got = enforceRemoteWrite(body, dnf, inject);
    assert.equal(got.body, body);
    assert.equal(got.seriesCount, 4);
  });

  it('a series mixing the selectors, or missing a label, is refused even in inject mode (nothing is injected)', () => {
    const mixed: Record<string, string>[] = [
      { namespace: 'a', env: 'dev' },
      { namespace: 'a' },
      { env: 'prod' },
      { namespace: 'b', env: 'prod' },
      { namespace: 'a', env: '' },
      { namespace: 'xops-1' },
    ];
    for (const labels of mixed) {
      const body = encodeRequestV2([{ labels: { __name__: 'ok', namespace: 'shared' } }, { labels: { __name__: 'up', ...labels } }]);
      assert.match(
        refusal(body, dnf, inject),
        /^policy: series up: labels not allowed by any selector of the label policy/,
        JSON.stringify(labels),
      );
    }
  });

  it('a policy label given twice is refused, even when one of its values would satisfy a selector', () => {
    const body = raw({
      symbols: ['', 'namespace', 'shared', 'b'],
      timeseries: [{ labelsRefs: [1, 2, 1, 3], samples: [{ value: 1, timestamp: 1 }] }],
    });
    assert.match(refusal(body, dnf, strict), /^policy: .*label "namespace" appears more than once/);
  });
});

describe('enforceRemoteWrite, remote write 2.0, one selector with two rules on one label', () => {
  // A file entry's `namespace` values and its `labels.namespace`: both rules must hold, and only the common literal is injected.
  const twoRules = buildLabelPolicy({ values: ['a', 'b'], labels: { namespace: 'a' } }) as LabelPolicy;
  it('checks both rules and injects the label once', () => {
    assert.equal(refusal(encodeRequestV2([{ labels: { __name__: 'up', namespace: 'a' } }]), twoRules, strict), 'accepted');
    assert.match(
      refusal(encodeRequestV2([{ labels: { __name__: 'up', namespace: 'b' } }]), twoRules, strict),
      /^policy: .*"namespace" value not allowed/,
    );
    assert.match(refusal(encodeRequestV2([{ labels: { __name__: 'up' } }]), twoRules, inject), /^policy: .*"namespace" is missing/);
    const single = buildLabelPolicy({ values: ['a'], labels: { namespace: 'a' } }) as LabelPolicy;
    const out = enforceRemoteWrite(encodeRequestV2([{ labels: { __name__: 'up' } }]), single, inject);
    assert.deepEqual(decodeRequestV2LabelNames(out.body), [['__name__', 'namespace']]);
  });
});
