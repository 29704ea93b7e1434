import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import snappy from 'snappyjs';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { enforceRemoteWrite, type RemoteWriteOptions } from './remote-write.js';
import { createRemoteWriteSchema } from './remote-write-schema.js';

const { writeRequest } = createRemoteWriteSchema();
const nsA = buildLabelPolicy({ values: ['a'] }) as LabelPolicy;
const nsRegex = buildLabelPolicy({ values: ['a', 'team-.*'] }) as LabelPolicy;
const strict: RemoteWriteOptions = {
  contentType: 'application/x-protobuf',
  contentEncoding: 'snappy',
  injectLabels: false,
  maxDecompressedBytes: 1 << 20,
  acceptsRemoteWrite2: false,
};
const inject: RemoteWriteOptions = { ...strict, injectLabels: true };

type Labels = Record<string, string>;

function series(labels: Labels, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    labels: Object.entries(labels).map(([name, value]) => ({ name, value })),
    samples: [{ value: 1.5, timestamp: 1700000000000 }],
    ...extra,
  };
}

function encode(request: Record<string, unknown>): Buffer {
  return Buffer.from(snappy.compress(writeRequest.encode(writeRequest.fromObject(request)).finish()));
}

function decode(body: Buffer): Record<string, unknown> & { timeseries: { labels: { name: string; value: string }[] }[] } {
  const message = writeRequest.decode(snappy.uncompress(body));
  return writeRequest.toObject(message, { longs: String, defaults: false }) as ReturnType<typeof decode>;
}

describe('enforceRemoteWrite', () => {
  it('forwards allowed series byte for byte', () => {
    const body = encode({ timeseries: [series({ __name__: 'up', namespace: 'a' })] });
    const got = enforceRemoteWrite(body, nsA, strict);
    assert.equal(got.isModified, false);
    assert.equal(got.body, body);
    assert.equal(got.seriesCount, 1);
  });

  const refused: { name: string; labels: Labels; policy?: LabelPolicy; options?: RemoteWriteOptions; want: RegExp }[] = [
    { name: 'another namespace', labels: { __name__: 'up', namespace: 'b' }, want: /up: label "namespace" value not allowed/ },
    { name: 'missing label', labels: { __name__: 'up' }, want: /up: label "namespace" is missing/ },
    { name: 'empty value counts as missing', labels: { __name__: 'up', namespace: '' }, want: /is missing/ },
    // Go keeps a leading byte-order mark: the value Prometheus stores is not "a".
    { name: 'a leading byte-order mark is part of the value', labels: { __name__: 'up', namespace: '\uFEFFa' }, want: /not allowed/ },
    { name: 'regex rule is anchored', labels: { __name__: 'up', namespace: 'xteam-1' }, policy: nsRegex, want: /not allowed/ },
    {
      name: 'missing label with a regex rule cannot be injected',
      labels: { __name__: 'up' },
      policy: nsRegex,
      options: inject,
      want: /is missing/,
    },
  ];
  for (const c of refused) {
    it(`refuses a series: ${c.name}`, () => {
      const body = encode({ timeseries: [series({ __name__: 'ok', namespace: 'a' }), series(c.labels)] });
      assert.throws(
        () => enforceRemoteWrite(body, c.policy ?? nsA, c.options ?? strict),
        (err: unknown) => {
          assert.ok(err instanceof PolicyViolation);
          assert.match(err.message, c.want);
          return true;
        },
      );
    });
  }

  it('accepts values matching a policy regex', () => {
    const body = encode({ timeseries: [series({ __name__: 'up', namespace: 'team-1' })] });
    assert.equal(enforceRemoteWrite(body, nsRegex, strict).isModified, false);
  });

  it('checks the UTF-8 of every label string, wherever it sits in a run of labels', () => {
    const field = (tag: number, payload: Buffer) => {
      assert.ok(payload.length < 0x4000);
      const length = payload.length < 0x80 ? [payload.length] : [(payload.length & 0x7f) | 0x80, payload.length >>> 7];
      return Buffer.concat([Buffer.from([tag, ...length]), payload]);
    };
    const label = (name: Buffer | string, value: Buffer | string) =>
      field(0x0a, Buffer.concat([field(0x0a, Buffer.from(name)), field(0x12, Buffer.from(value))]));
    const body = (...labels: Buffer[]) => Buffer.from(snappy.compress(field(0x0a, Buffer.concat(labels))));
    const usual = [label('__name__', 'up'), label('namespace', 'a'), label('pod', 'pod-1')];
    const bad = Buffer.from([0x70, 0xff, 0x71]);
    const overlong = Buffer.from([0x61, 0xc0, 0x80]);
    assert.equal(enforceRemoteWrite(body(...usual), nsA, strict).isModified, false);
    assert.equal(enforceRemoteWrite(body(...usual, label('pod', 'équipe-α')), nsA, strict).isModified, false);
    assert.equal(enforceRemoteWrite(body(label('long', 'x'.repeat(200)), ...usual), nsA, strict).isModified, false);
    for (let at = 0; at <= usual.length; at++) {
      for (const wrong of [label('pod', bad), label(overlong, 'v'), label('pod', Buffer.from([0xed, 0xa0, 0x80]))]) {
        const labels = [...usual.slice(0, at), wrong, ...usual.slice(at)];
        assert.throws(() => enforceRemoteWrite(body(...labels), nsA, strict), /not valid UTF-8/, `at ${at}`);
      }
      // After a label read on its own (a value of 128 bytes or more).
      const labels = [label('long', 'x'.repeat(200)), ...usual.slice(0, at), label('pod', bad), ...usual.slice(at)];
      assert.throws(() => enforceRemoteWrite(body(...labels), nsA, strict), /not valid UTF-8/, `after a long label, at ${at}`);
    }
    // A value length byte of 0x80 or more starts a longer varint (0xc3 0xa9 = 5,315 bytes, past the label's end),
    // even when it would fit the field as one byte (195) and forms valid UTF-8 ("é") with the next one.
    const value = Buffer.concat([Buffer.from([0xa9]), Buffer.alloc(194, 0x61)]);
    const misread = field(0x0a, Buffer.concat([field(0x0a, Buffer.from('pod')), Buffer.from([0x12, 0xc3]), value]));
    assert.throws(() => enforceRemoteWrite(body(...usual, misread), nsA, strict), /malformed protobuf/);
  });

  it('refuses a constrained label sent twice, even if one value is allowed', () => {
    const body = encode({
      timeseries: [
        {
          labels: [
            { name: 'namespace', value: 'a' },
            { name: 'namespace', value: 'b' },
          ],
        },
      ],
    });
    assert.throws(() => enforceRemoteWrite(body, nsA, inject), /more than once/);
  });

  it('injects a missing single-literal label, keeps labels sorted, and keeps samples, exemplars and histograms', () => {
    const histogram = { countInt: 3, sum: 2.5, schema: 1, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 1] };
    const exemplar = { labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 5 };
    const body = encode({
      timeseries: [
        series({ __name__: 'up', job: 'x', zone: 'z' }, { exemplars: [exemplar], histograms: [histogram] }),
        series({ __name__: 'kept', namespace: 'a' }),
      ],
      metadata: [{ type: 1, metricFamilyName: 'up', help: 'h' }],
    });
    const got = enforceRemoteWrite(body, nsA, inject);
    assert.equal(got.isModified, true);
    const out = decode(got.body);
    assert.deepEqual(
      out.timeseries[0]?.labels.map((l) => `${l.name}=${l.value}`),
      ['__name__=up', 'job=x', 'namespace=a', 'zone=z'],
    );
    assert.deepEqual(
      out.timeseries[1]?.labels.map((l) => l.name),
      ['__name__', 'namespace'],
    );
    const original = decode(body);
    const { labels: _a, ...restOut } = out.timeseries[0] as Record<string, unknown>;
    const { labels: _b, ...restIn } = original.timeseries[0] as Record<string, unknown>;
    assert.deepEqual(restOut, restIn);
    assert.deepEqual(out['metadata'], original['metadata']);
  });

  it('replaces an empty-valued label when injecting instead of duplicating it', () => {
    const body = encode({ timeseries: [series({ __name__: 'up', namespace: '' })] });
    const out = decode(enforceRemoteWrite(body, nsA, inject).body);
    assert.deepEqual(out.timeseries[0]?.labels, [
      { name: '__name__', value: 'up' },
      { name: 'namespace', value: 'a' },
    ]);
  });

  it('passes a fully-allowed request unchanged even in inject mode', () => {
    const body = encode({ timeseries: [series({ __name__: 'up', namespace: 'a' })] });
    assert.equal(enforceRemoteWrite(body, nsA, inject).body, body);
  });

  it('passes anything through for full access without decoding', () => {
    const body = Buffer.from('not snappy');
    assert.equal(enforceRemoteWrite(body, FULL_ACCESS, strict).body, body);
  });

  const unsupported: { name: string; options: Partial<RemoteWriteOptions>; mediaType: boolean; body?: Buffer }[] = [
    { name: 'remote write 2.0', options: { contentType: 'application/x-protobuf;proto=io.prometheus.write.v2.Request' }, mediaType: true },
    { name: 'JSON', options: { contentType: 'application/json' }, mediaType: true },
    { name: 'gzip', options: { contentEncoding: 'gzip' }, mediaType: true },
    { name: 'broken snappy', options: {}, mediaType: false, body: Buffer.from([0xff, 0xff, 0xff]) },
    { name: 'protobuf garbage', options: {}, mediaType: false, body: Buffer.from(snappy.compress(Buffer.from([0x0a, 0x05, 0x01]))) },
    { name: 'a body that inflates past the limit', options: { maxDecompressedBytes: 8 }, mediaType: false },
  ];
  for (const c of unsupported) {
    it(`refuses ${c.name}`, () => {
      const body = c.body ?? encode({ timeseries: [series({ __name__: 'up', namespace: 'a' })] });
      assert.throws(
        () => enforceRemoteWrite(body, nsA, { ...strict, ...c.options }),
        (err: unknown) => {
          assert.ok(err instanceof UnsupportedInput);
          assert.equal(err.mediaType, c.mediaType);
          return true;
        },
      );
    });
  }

  it('accepts the explicit remote write 1.0 proto parameter and a missing content type', () => {
    const body = encode({ timeseries: [series({ __name__: 'up', namespace: 'a' })] });
    const v1 = 'application/x-protobuf; proto=prometheus.WriteRequest';
    assert.equal(enforceRemoteWrite(body, nsA, { ...strict, contentType: v1 }).seriesCount, 1);
    assert.equal(enforceRemoteWrite(body, nsA, { ...strict, contentType: undefined, contentEncoding: undefined }).seriesCount, 1);
  });
});

describe('enforceRemoteWrite under a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  it('a series satisfying one selector is forwarded byte for byte', () => {
    const body = encode({
      timeseries: [series({ __name__: 'up', namespace: 'a', env: 'prod' }), series({ __name__: 'up', namespace: 'shared', env: 'dev' })],
    });
    const out = enforceRemoteWrite(body, dnf, strict);
    assert.equal(out.body, body);
    assert.equal(out.seriesCount, 2);
  });
  it('a series mixing the selectors (a selector cannot widen another) is refused, and nothing is injected', () => {
    const mixed: Labels[] = [{ namespace: 'a', env: 'dev' }, { namespace: 'a' }, { env: 'prod' }, { namespace: 'b', env: 'prod' }];
    for (const labels of mixed) {
      assert.throws(
        () => enforceRemoteWrite(encode({ timeseries: [series({ __name__: 'up', ...labels })] }), dnf, inject),
        PolicyViolation,
        JSON.stringify(labels),
      );
    }
  });
  it('a policy label given twice is refused', () => {
    const body = encode({
      timeseries: [
        {
          labels: [
            { name: 'namespace', value: 'shared' },
            { name: 'namespace', value: 'b' },
          ],
          samples: [{ value: 1, timestamp: 1 }],
        },
      ],
    });
    assert.throws(() => enforceRemoteWrite(body, dnf, strict), /more than once/);
  });
});

describe('enforceRemoteWrite, one selector with two rules on one label', () => {
  // A file entry's `namespace` values and its `labels.namespace`: both rules hold, and a label is injected once.
  it('checks both rules, and injects only a literal every rule on the label agrees on, once', () => {
    const twoRules = buildLabelPolicy({ values: ['a', 'b'], labels: { namespace: 'a' } }) as LabelPolicy;
    const one = (labels: Labels) => encode({ timeseries: [series({ __name__: 'up', ...labels })] });
    assert.equal(enforceRemoteWrite(one({ namespace: 'a' }), twoRules, strict).isModified, false);
    assert.throws(() => enforceRemoteWrite(one({ namespace: 'b' }), twoRules, strict), /"namespace" value not allowed/);
    assert.throws(() => enforceRemoteWrite(one({}), twoRules, inject), /"namespace" is missing/);
    const same = buildLabelPolicy({ values: ['a'], labels: { namespace: 'a' } }) as LabelPolicy;
    const out = enforceRemoteWrite(one({}), same, inject);
    assert.deepEqual(decode(out.body).timeseries[0]?.labels, [
      { name: '__name__', value: 'up' },
      { name: 'namespace', value: 'a' },
    ]);
  });
});
