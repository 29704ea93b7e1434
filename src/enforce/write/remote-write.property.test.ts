import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy, type LabelRule } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { STRICT_UTF8 } from '../utf8.js';
import { enforceRemoteWrite, type RemoteWriteOptions } from './remote-write.js';

/**
 * The offset-based remote write 1.0 reader (remote-write-v1.ts) against an independent decoder: protobufjs built
 * from the published .proto text (prometheus/prompb types.proto, remote.proto), strings read as `bytes` so that
 * UTF-8 is judged here with the strict decoder, not by protobufjs' lossy one. Random well-formed requests must be
 * decided as the reference model decides them; random and mutated bodies must be refused, or accepted only when
 * the independent decode agrees that every series is allowed.
 */
const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; }
message Label { bytes name = 1; bytes value = 2; }
`;
// What the enforcer promises to read: the labels. Samples, exemplars, histograms and metadata are carried as their
// bytes (their content is the upstream's to judge), so the reference reads them as opaque bytes too.
const OPAQUE_PROTO = `
syntax = "proto3";
package opaque;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated bytes samples = 2; repeated bytes exemplars = 3; repeated bytes histograms = 4; }
message Label { bytes name = 1; bytes value = 2; }
`;
const WriteRequest = protobuf.parse(PROTO).root.lookupType('prometheus.WriteRequest');
const OpaqueWriteRequest = protobuf.parse(OPAQUE_PROTO).root.lookupType('opaque.WriteRequest');

const POLICY = buildLabelPolicy({ values: ['team-a', 'team-b-.*'], labels: { cluster: 'eu' } }) as LabelPolicy;
/** Several selectors (ORed), sharing labels: a series must satisfy one of them; nothing is injected. */
const DNF = buildSelectorsPolicy([
  { namespace: ['team-a', 'team-b-.*'], cluster: 'eu' },
  { namespace: 'shared' },
  { cluster: 'us', job: 'a' },
]) as LabelPolicy;
const STRICT: RemoteWriteOptions = {
  contentType: 'application/x-protobuf',
  contentEncoding: 'snappy',
  injectLabels: false,
  maxDecompressedBytes: 1 << 20,
  acceptsRemoteWrite2: true,
};
const INJECT: RemoteWriteOptions = { ...STRICT, injectLabels: true };

interface RefLabel {
  readonly name: Uint8Array;
  readonly value: Uint8Array;
}
interface RefSeries {
  readonly labels: RefLabel[];
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The independent decode: undefined when protobufjs cannot read the message. */
function referenceDecode(message: Uint8Array): RefSeries[] | undefined {
  try {
    const decoded = OpaqueWriteRequest.toObject(OpaqueWriteRequest.decode(message), { defaults: true, arrays: true }) as {
      timeseries: { labels: { name: Uint8Array; value: Uint8Array }[] }[];
    };
    return decoded.timeseries.map((s) => ({ labels: s.labels.map((l) => ({ name: l.name, value: l.value })) }));
  } catch {
    return undefined;
  }
}

type Verdict = 'allowed' | 'inject' | 'refused' | 'malformed';

/** The policy as the spec of enforceRemoteWrite states it, over decoded strings. */
function judgeSeries(series: RefSeries, inject: boolean, policy: LabelPolicy): Verdict {
  const labels: { name: string; value: string }[] = [];
  for (const l of series.labels) {
    const name = utf8(l.name);
    const value = utf8(l.value);
    if (name === undefined || value === undefined) return 'malformed';
    labels.push({ name, value });
  }
  if (policy.fullAccess) return 'allowed';
  if (policy.selectors.length > 1) {
    const values = (rule: LabelRule) => labels.filter((l) => l.name === rule.label).map((l) => l.value);
    if (policy.selectors.flat().some((rule) => values(rule).length > 1)) return 'refused';
    const satisfied = policy.selectors.some((selector) =>
      selector.every((rule) => {
        const value = values(rule)[0] ?? '';
        return value !== '' && (rule.literals.includes(value) || rule.regexes.some((re) => new RegExp(`^(?:${re})$`, 'u').test(value)));
      }),
    );
    return satisfied ? 'allowed' : 'refused';
  }
  let verdict: Verdict = 'allowed';
  for (const rule of policy.selectors[0] ?? []) {
    const present = labels.filter((l) => l.name === rule.label);
    if (present.length > 1) return 'refused';
    const value = present[0]?.value ?? '';
    if (value === '') {
      if (inject && rule.regexes.length === 0 && rule.literals.length === 1) verdict = 'inject';
      else return 'refused';
      continue;
    }
    const allowed = rule.literals.includes(value) || rule.regexes.some((re) => new RegExp(`^(?:${re})$`, 'u').test(value));
    if (!allowed) return 'refused';
  }
  return verdict;
}

/** Series by series, as the enforcer reads them: the first malformed or refused series decides. */
function judge(series: readonly RefSeries[], inject: boolean, policy: LabelPolicy = POLICY): Verdict {
  let verdict: Verdict = 'allowed';
  for (const s of series) {
    const v = judgeSeries(s, inject, policy);
    if (v === 'malformed' || v === 'refused') return v;
    if (v === 'inject') verdict = v;
  }
  return verdict;
}

function outcome(
  body: Buffer,
  options: RemoteWriteOptions,
  policy: LabelPolicy = POLICY,
): { kind: 'ok'; body: Buffer; isModified: boolean; seriesCount: number } | { kind: 'policy' | 'malformed' } {
  try {
    const got = enforceRemoteWrite(body, policy, options);
    return { kind: 'ok', ...got };
  } catch (err) {
    if (err instanceof PolicyViolation) return { kind: 'policy' };
    if (err instanceof UnsupportedInput && !err.mediaType) return { kind: 'malformed' };
    throw err;
  }
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const labelName = fc.constantFrom('namespace', 'cluster', '__name__', 'job', 'pod', 'a', 'namespacf', 'Namespace');
const labelValue = fc.oneof(
  fc.constantFrom('team-a', 'team-b-1', 'team-b-', 'eu', 'us', '', 'team-a\u0000', '\uFEFFteam-a', 'téam-a', 'shared', 'a'),
  fc.string({ maxLength: 6, unit: 'grapheme' }),
);
const badUtf8 = fc
  .constantFrom([0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff])
  .map((b) => Uint8Array.from(b));
const label = fc.oneof(
  { weight: 10, arbitrary: fc.record({ name: labelName.map(enc), value: labelValue.map(enc) }) },
  { weight: 1, arbitrary: fc.record({ name: labelName.map(enc), value: badUtf8 }) },
  { weight: 1, arbitrary: fc.record({ name: badUtf8, value: labelValue.map(enc) }) },
  // Past the one-byte length of the usual label: the general reader.
  {
    weight: 1,
    arbitrary: fc.record({ name: labelName.map(enc), value: fc.constantFrom('team-a', 'x'.repeat(130), 'é'.repeat(70)).map(enc) }),
  },
);
const series = fc.array(label, { maxLength: 5 }).map((labels) => ({ labels, samples: [{ value: 1, timestamp: 1 }] }));
const request = fc.array(series, { maxLength: 4 });
/** Policy-friendly series, so that accepted requests are common too. */
const goodSeries = fc.tuple(fc.constantFrom('team-a', 'team-b-x'), fc.boolean(), fc.string({ maxLength: 4 })).map(([ns, withNs, pod]) => ({
  labels: [
    { name: enc('__name__'), value: enc('up') },
    { name: enc('cluster'), value: enc('eu') },
    ...(withNs ? [{ name: enc('namespace'), value: enc(ns) }] : []),
    { name: enc('pod'), value: enc(pod) },
  ],
  samples: [{ value: 1, timestamp: 1 }],
}));
const anyRequest = fc.oneof(request, fc.array(goodSeries, { minLength: 1, maxLength: 4 }));

function encodeMessage(timeseries: unknown[]): Uint8Array {
  return WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
}

describe('enforceRemoteWrite properties (against protobufjs from the .proto)', () => {
  it('decides random well-formed requests as the reference model does, in both modes', () => {
    fc.assert(
      fc.property(anyRequest, fc.boolean(), (timeseries, inject) => {
        const message = encodeMessage(timeseries);
        const body = Buffer.from(snappy.compress(Buffer.from(message)));
        const want = judge(referenceDecode(message) ?? [], inject);
        const got = outcome(body, inject ? INJECT : STRICT);
        if (want === 'malformed') return assert.equal(got.kind, 'malformed');
        if (want === 'refused') return assert.equal(got.kind, 'policy');
        assert.equal(got.kind, 'ok');
        if (got.kind !== 'ok') return;
        assert.equal(got.seriesCount, timeseries.length);
        if (want === 'allowed') return assert.equal(got.body, body);
        const out = referenceDecode(snappy.uncompress(got.body)) ?? assert.fail('output does not decode');
        assert.equal(judge(out, false), 'allowed');
        out.forEach((s, i) => {
          const names = s.labels.map((l) => Buffer.from(l.name));
          assert.deepEqual(names, [...names].sort(Buffer.compare), 'labels sorted by name');
          const before = (referenceDecode(message) as RefSeries[])[i] as RefSeries;
          const kept = before.labels.filter(
            (l) => l.value.length > 0 || !['namespace', 'cluster'].includes(Buffer.from(l.name).toString()),
          );
          for (const l of kept)
            assert.ok(
              s.labels.some((o) => Buffer.from(o.name).equals(l.name) && Buffer.from(o.value).equals(l.value)),
              'every label kept',
            );
        });
      }),
      { numRuns: 400 },
    );
  });

  it('decides random requests under a policy of several selectors as the reference model does (never modified)', () => {
    fc.assert(
      fc.property(anyRequest, fc.boolean(), (timeseries, inject) => {
        const message = encodeMessage(timeseries);
        const body = Buffer.from(snappy.compress(Buffer.from(message)));
        const want = judge(referenceDecode(message) ?? [], inject, DNF);
        const got = outcome(body, inject ? INJECT : STRICT, DNF);
        if (want === 'malformed') return assert.equal(got.kind, 'malformed');
        if (want === 'refused') return assert.equal(got.kind, 'policy');
        assert.equal(got.kind, 'ok');
        if (got.kind === 'ok') assert.equal(got.body, body);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses mutated and random bodies, or accepts only what the independent decode allows', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.constantFrom(0x80, 0xff, 0x0a, 0x12, 0x00, 0x0b, 0x0f) }),
    );
    const source = fc.oneof(
      fc
        .tuple(
          anyRequest.map((ts) => encodeMessage(ts)),
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
        )
        .map(([message, mutations]) => {
          let bytes = Buffer.from(message);
          for (const m of mutations) {
            if (bytes.length === 0) break;
            const at = m.at % bytes.length;
            if (m.kind === 'set') bytes[at] = m.byte;
            else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
            else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
          }
          return bytes;
        }),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(source, fc.boolean(), (message, inject) => {
        const got = outcome(Buffer.from(snappy.compress(message)), inject ? INJECT : STRICT);
        if (got.kind !== 'ok') return;
        const reference = referenceDecode(message) ?? assert.fail(`accepted a body protobufjs cannot decode: ${message.toString('hex')}`);
        assert.equal(got.seriesCount, reference.length);
        const want = judge(reference, inject);
        assert.ok(want === 'allowed' || want === 'inject', `accepted a body the reference judges ${want}`);
        if (got.isModified)
          assert.equal(judge(referenceDecode(snappy.uncompress(got.body)) ?? assert.fail('output does not decode'), false), 'allowed');
      }),
      { numRuns: 1500 },
    );
  });

  it('refuses overlong varints, a wrong wire type and a length past the end', () => {
    const one = encodeMessage([
      {
        labels: [
          { name: enc('namespace'), value: enc('team-a') },
          { name: enc('cluster'), value: enc('eu') },
        ],
      },
    ]);
    const cases: Record<string, number[]> = {
      'overlong tag varint': [0x8a, 0x80, 0x80, 0x80, 0x80, 0x00],
      'overlong length varint': [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
      'timeseries as a varint': [0x08, 0x01],
      'label as a fixed32': [0x0a, 0x05, 0x0d, 0x00, 0x00, 0x00, 0x00],
      'label name as a varint': [0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01],
      'length past the end': [0x0a, 0x10, 0x0a, 0x00],
      'a group': [0x0b, 0x0c],
      'field number 0': [0x02, 0x00],
      'truncated sample double': [0x0a, 0x04, 0x12, 0x02, 0x09, 0x00],
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const body = Buffer.from(snappy.compress(Buffer.concat([Buffer.from(one), Buffer.from(bytes)])));
      const got = outcome(body, STRICT);
      // A truncated sample sits in a field the enforcer carries as bytes: the series has no policy label, so it is refused.
      assert.ok(got.kind === 'malformed' || (name === 'truncated sample double' && got.kind === 'policy'), `${name}: ${got.kind}`);
    }
  });
});
