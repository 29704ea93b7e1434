import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import snappy from 'snappyjs';
import { FULL_ACCESS, buildLabelPolicy, buildSelectorsPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { enforceLokiPush, type LokiPushOptions } from './loki-push.js';
import { decodeProtoPush, encodeProtoPush } from './loki-push-proto.js';

const ONE = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const REGEX = buildLabelPolicy({ values: ['team-.+'] }) as LabelPolicy;
const REJECT: LokiPushOptions = { mode: 'reject', maxDecodedBytes: 1 << 20 };
const INJECT: LokiPushOptions = { mode: 'inject', maxDecodedBytes: 1 << 20 };
const LINE = ['1700000000000000000', 'hello'];

function jsonBody(...streams: Record<string, string>[]): Buffer {
  return Buffer.from(JSON.stringify({ streams: streams.map((stream) => ({ stream, values: [LINE] })) }));
}

function pushJson(body: Buffer, policy: LabelPolicy, options: LokiPushOptions, encoding?: string) {
  return enforceLokiPush({ body, contentType: 'application/json; charset=utf-8', contentEncoding: encoding }, policy, options);
}

function protoBody(...labels: string[]): Buffer {
  const entry = { timestamp: { seconds: '1700000000', nanos: 5 }, line: Buffer.from([0xff, 0x00, 0x41]) };
  return encodeProtoPush({ streams: labels.map((l) => ({ labels: l, entries: [entry] })), format: '' });
}

function pushProto(body: Buffer, policy: LabelPolicy, options: LokiPushOptions) {
  return enforceLokiPush({ body, contentType: 'application/x-protobuf', contentEncoding: undefined }, policy, options);
}

describe('enforceLokiPush: JSON', () => {
  it('accepts streams inside the policy and forwards them', () => {
    const out = pushJson(jsonBody({ namespace: 'team-a', app: 'x' }), ONE, REJECT);
    assert.equal(out.contentType, 'application/json');
    assert.deepEqual(JSON.parse(out.body.toString()), { streams: [{ stream: { namespace: 'team-a', app: 'x' }, values: [LINE] }] });
  });

  it('forwards the received bytes themselves when every stream is allowed as sent', () => {
    const body = Buffer.from(' { "streams" : [ {"stream":{"namespace":"team-a"},"values":[["1","x",{"k":"v"}]]} ] } ');
    const out = pushJson(body, ONE, REJECT);
    assert.equal(out.body, body);
    assert.equal(out.isModified, false);
    assert.equal(out.contentType, 'application/json');
  });

  it('in inject mode rewrites only the stream objects that change, copying the rest byte for byte', () => {
    const body = Buffer.from(
      '{"streams":[{"stream": {"app":"x"} ,"values":[["1","é\\n"]]},{"values":[],"stream":{"namespace":"team-a"}}]}',
    );
    const out = pushJson(body, ONE, INJECT);
    assert.equal(out.isModified, true);
    assert.equal(
      out.body.toString(),
      '{"streams":[{"stream": {"app":"x","namespace":"team-a"} ,"values":[["1","é\\n"]]},{"values":[],"stream":{"namespace":"team-a"}}]}',
    );
  });

  it('re-serialises a body outside the plain form (here a label named twice: the last one, as checked)', () => {
    const out = pushJson(Buffer.from('{"streams":[{"stream":{"namespace":"x","namespace":"team-a"}}]}'), ONE, REJECT);
    assert.equal(out.isModified, true);
    assert.equal(out.body.toString(), '{"streams":[{"stream":{"namespace":"team-a"},"values":[]}]}');
  });

  it('refuses label names Loki reads another way (it unescapes names twice and writes them unquoted)', () => {
    for (const name of ['\\\\u006eamespace', 'a.b', '1a', 'a=\\"b\\",namespace', '']) {
      const body = Buffer.from(`{"streams":[{"stream":{"namespace":"team-a","${name}":"team-b"},"values":[]}]}`);
      assert.throws(() => pushJson(body, ONE, REJECT), UnsupportedInput, name);
    }
    const escaped = Buffer.from('{"streams":[{"stream":{"n\\u0061mespace":"team-a"},"values":[]}]}');
    assert.equal(pushJson(escaped, ONE, REJECT).body.toString(), '{"streams":[{"stream":{"namespace":"team-a"},"values":[]}]}');
  });

  it('refuses a label value holding a lone surrogate', () => {
    const body = Buffer.from('{"streams":[{"stream":{"namespace":"team-a","app":"\\udc00"},"values":[]}]}');
    assert.throws(() => pushJson(body, ONE, REJECT), UnsupportedInput);
  });

  it('rejects a stream of another namespace, naming it', () => {
    const body = jsonBody({ namespace: 'team-a' }, { namespace: 'team-b' });
    assert.throws(
      () => pushJson(body, ONE, REJECT),
      (e: unknown) => e instanceof PolicyViolation && /#1/.test(e.message),
    );
  });

  it('rejects a stream lacking the label in reject mode', () => {
    assert.throws(() => pushJson(jsonBody({ app: 'x' }), ONE, REJECT), PolicyViolation);
  });

  it('injects a missing single-literal label', () => {
    const out = pushJson(jsonBody({ app: 'x' }), ONE, INJECT);
    assert.deepEqual(JSON.parse(out.body.toString()).streams[0].stream, { app: 'x', namespace: 'team-a' });
  });

  it('still rejects a present but wrong value in inject mode', () => {
    assert.throws(() => pushJson(jsonBody({ namespace: 'team-b' }), ONE, INJECT), PolicyViolation);
  });

  it('cannot inject for a regex rule', () => {
    assert.throws(() => pushJson(jsonBody({ app: 'x' }), REGEX, INJECT), PolicyViolation);
  });

  it('checks values against policy regexes, fully anchored', () => {
    assert.doesNotThrow(() => pushJson(jsonBody({ namespace: 'team-zz' }), REGEX, REJECT));
    assert.throws(() => pushJson(jsonBody({ namespace: 'x-team-zz' }), REGEX, REJECT), PolicyViolation);
  });

  it('treats an empty value as missing', () => {
    assert.throws(() => pushJson(jsonBody({ namespace: '' }), ONE, REJECT), PolicyViolation);
  });

  it('a differently-cased duplicate "Stream" key is refused, not half-checked', () => {
    const body = Buffer.from('{"streams":[{"stream":{"namespace":"team-a"},"Stream":{"namespace":"team-b"},"values":[]}]}');
    assert.throws(() => pushJson(body, ONE, REJECT), UnsupportedInput);
  });

  it('duplicate label keys: the checked (last) value is the one forwarded', () => {
    const body = Buffer.from('{"streams":[{"stream":{"namespace":"team-b","namespace":"team-a"},"values":[]}]}');
    const out = pushJson(body, ONE, REJECT);
    assert.equal(out.body.toString(), '{"streams":[{"stream":{"namespace":"team-a"},"values":[]}]}');
  });

  it('supports gzip bodies and forwards them decoded', () => {
    const out = pushJson(gzipSync(jsonBody({ namespace: 'team-a' })), ONE, REJECT, 'gzip');
    assert.equal(JSON.parse(out.body.toString()).streams[0].stream.namespace, 'team-a');
    assert.throws(() => pushJson(gzipSync(jsonBody({ namespace: 'team-b' })), ONE, REJECT, 'gzip'), PolicyViolation);
  });

  it('refuses an unknown content encoding as a media-type problem', () => {
    assert.throws(
      () => pushJson(jsonBody({ namespace: 'team-a' }), ONE, REJECT, 'br'),
      (e: unknown) => e instanceof UnsupportedInput && e.mediaType,
    );
  });

  it('refuses a gzip bomb beyond the bound', () => {
    const big = gzipSync(Buffer.from(JSON.stringify({ streams: [], pad: 'x'.repeat(2 << 20) })));
    assert.throws(() => pushJson(big, ONE, REJECT, 'gzip'), UnsupportedInput);
  });

  it('refuses malformed values and non-string labels', () => {
    assert.throws(() => pushJson(Buffer.from('{"streams":[{"stream":{"namespace":1},"values":[]}]}'), ONE, REJECT), UnsupportedInput);
    assert.throws(
      () => pushJson(Buffer.from('{"streams":[{"stream":{"namespace":"team-a"},"values":[[1,"x"]]}]}'), ONE, REJECT),
      UnsupportedInput,
    );
  });

  it('full access forwards any labels', () => {
    assert.doesNotThrow(() => pushJson(jsonBody({ namespace: 'anything' }), FULL_ACCESS, REJECT));
  });
});

describe('enforceLokiPush: protobuf', () => {
  it('accepts and keeps labels, line bytes and timestamps exactly', () => {
    const out = pushProto(protoBody('{namespace="team-a", app="x"}'), ONE, REJECT);
    assert.equal(out.contentType, 'application/x-protobuf');
    const decoded = decodeProtoPush(out.body, 1 << 20);
    assert.equal(decoded.streams[0]?.labels, '{namespace="team-a", app="x"}');
    assert.deepEqual(decoded.streams[0]?.entries, [
      { timestamp: { seconds: '1700000000', nanos: 5 }, line: Buffer.from([0xff, 0x00, 0x41]), structuredMetadata: [] },
    ]);
  });

  it('rejects a stream of another namespace', () => {
    assert.throws(() => pushProto(protoBody('{namespace="team-a"}', '{namespace="team-b"}'), ONE, REJECT), PolicyViolation);
  });

  it('injects the label into the labels string', () => {
    const out = pushProto(protoBody('{app="x"}'), ONE, INJECT);
    assert.equal(decodeProtoPush(out.body, 1 << 20).streams[0]?.labels, '{app="x", namespace="team-a"}');
  });

  it('refuses labels that are not a plain label set', () => {
    // A leading byte-order mark is text to Go's parser (TextDecoder would drop it): not a label set.
    for (const labels of [
      '{namespace=~"team-a"}',
      '{namespace="team-a"} |= "x"',
      '{namespace="team-a", namespace="team-b"}',
      'junk',
      '\uFEFF{namespace="team-a"}',
    ]) {
      assert.throws(() => pushProto(protoBody(labels), ONE, REJECT), UnsupportedInput, labels);
    }
  });

  it('refuses a body that is not snappy or not protobuf', () => {
    assert.throws(() => pushProto(Buffer.from('not snappy at all'), ONE, REJECT), UnsupportedInput);
    assert.throws(() => pushProto(Buffer.from(snappy.compress(Buffer.from([0x0a, 0xff]))), ONE, REJECT), UnsupportedInput);
  });

  it('treats a missing content type as unsupported (Loki answers 400 too)', () => {
    const input = { body: protoBody('{namespace="team-a"}'), contentType: undefined, contentEncoding: undefined };
    assert.throws(() => enforceLokiPush(input, ONE, REJECT), UnsupportedInput);
  });
});

/** Raw protobuf for wire-level cases: a length-delimited field, a varint field. */
function field(number: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}
function varintField(number: number, value: number): Buffer {
  return Buffer.concat([varint(number << 3), varint(value)]);
}
function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return Buffer.from(out);
}
const ENTRY = field(2, Buffer.concat([field(1, varintField(1, 1700000000)), field(2, 'line')]));
const snappyOf = (message: Buffer) => Buffer.from(snappy.compress(message));

describe('enforceLokiPush: protobuf forwarding', () => {
  it('forwards the received bytes themselves when every stream is allowed as sent', () => {
    const body = protoBody('{namespace="team-a", app="x"}', '{ app = "y" , namespace = "team-a" }');
    const out = pushProto(body, ONE, REJECT);
    assert.equal(out.isModified, false);
    assert.equal(out.body, body);
  });

  it('inject mode with nothing to inject forwards the received bytes too', () => {
    const body = protoBody('{namespace="team-a"}');
    assert.equal(pushProto(body, ONE, INJECT).body, body);
  });

  it('forwards the gzip-decoded bytes, byte for byte, when nothing changes', () => {
    const inner = protoBody('{namespace="team-a"}');
    const out = enforceLokiPush({ body: gzipSync(inner), contentType: 'application/x-protobuf', contentEncoding: 'gzip' }, ONE, REJECT);
    assert.equal(out.isModified, false);
    assert.deepEqual(out.body, inner);
  });

  it('rebuilds only the stream that got a label; the others keep their bytes', () => {
    const kept = field(1, Buffer.concat([field(1, '{namespace="team-a", z="1"}'), ENTRY]));
    const injected = field(1, Buffer.concat([field(1, '{app="x"}'), ENTRY]));
    const out = pushProto(snappyOf(Buffer.concat([kept, injected])), ONE, INJECT);
    assert.equal(out.isModified, true);
    const message = Buffer.from(snappy.uncompress(out.body));
    assert.ok(message.subarray(0, kept.length).equals(kept));
    const decoded = decodeProtoPush(out.body, 1 << 20);
    assert.deepEqual(
      decoded.streams.map((s) => s.labels),
      ['{namespace="team-a", z="1"}', '{app="x", namespace="team-a"}'],
    );
    assert.equal(decoded.streams[1]?.entries.length, 1);
  });

  it('an empty value in inject mode is replaced, so the stream is rebuilt', () => {
    const out = pushProto(protoBody('{namespace="", app="x"}'), ONE, INJECT);
    assert.equal(out.isModified, true);
    assert.equal(decodeProtoPush(out.body, 1 << 20).streams[0]?.labels, '{app="x", namespace="team-a"}');
  });

  it('drops what the gateway never forwards (stream hash, entry parsed, unknown fields) by rebuilding', () => {
    const entryWithParsed = field(2, Buffer.concat([field(2, 'line'), field(4, field(1, 'namespace'))]));
    const stream = field(1, Buffer.concat([field(1, '{namespace="team-a"}'), entryWithParsed, varintField(3, 42), field(9, 'x')]));
    const out = pushProto(snappyOf(Buffer.concat([stream, field(7, 'unknown'), field(2, 'fmt')])), ONE, REJECT);
    assert.equal(out.isModified, true);
    const message = Buffer.from(snappy.uncompress(out.body));
    const want = Buffer.concat([field(1, Buffer.concat([field(1, '{namespace="team-a"}'), field(2, field(2, 'line'))])), field(2, 'fmt')]);
    assert.deepEqual(message, want);
  });

  it('reads a repeated labels field as Go does: the last one counts', () => {
    const lastAllowed = field(1, Buffer.concat([field(1, '{namespace="team-b"}'), field(1, '{namespace="team-a"}')]));
    assert.equal(pushProto(snappyOf(lastAllowed), ONE, REJECT).isModified, false);
    const lastForeign = field(1, Buffer.concat([field(1, '{namespace="team-a"}'), field(1, '{namespace="team-b"}')]));
    assert.throws(() => pushProto(snappyOf(lastForeign), ONE, REJECT), PolicyViolation);
  });

  it('a stream without labels is refused', () => {
    assert.throws(() => pushProto(snappyOf(field(1, ENTRY)), ONE, REJECT), UnsupportedInput);
  });

  it('an empty push is forwarded as is', () => {
    const body = snappyOf(Buffer.alloc(0));
    assert.equal(pushProto(body, ONE, REJECT).body, body);
  });

  const malformed: [string, Buffer][] = [
    ['labels with a varint wire type', field(1, varintField(1, 5))],
    ['streams with a varint wire type', varintField(1, 5)],
    [
      'an entry with a fixed32 line',
      field(1, Buffer.concat([field(1, '{namespace="team-a"}'), field(2, Buffer.from([0x15, 1, 2, 3, 4]))])),
    ],
    ['a group wire type', Buffer.from([0x0b, 0x0c])],
    ['wire type 7', Buffer.from([0x0f])],
    ['field number 0', Buffer.from([0x02, 0x00])],
    ['a length past the end', Buffer.from([0x0a, 0x05, 0x00])],
    ['a truncated tag', Buffer.from([0x8a])],
    ['a tag varint of 6 bytes', Buffer.concat([Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x80, 0x00]), varint(0)])],
    ['labels that are not UTF-8', field(1, field(1, Buffer.from([0x7b, 0xff, 0x7d])))],
  ];
  for (const [name, message] of malformed) {
    it(`refuses ${name}`, () => {
      assert.throws(() => pushProto(snappyOf(message), ONE, REJECT), UnsupportedInput);
    });
  }

  it('full access decodes nothing: even an unreadable body is returned untouched', () => {
    const body = Buffer.from('not snappy, not protobuf');
    const out = enforceLokiPush({ body, contentType: 'application/x-protobuf', contentEncoding: 'br' }, FULL_ACCESS, REJECT);
    assert.equal(out.body, body);
    assert.equal(out.contentType, undefined);
    assert.equal(out.isModified, false);
  });
});

describe('enforceLokiPush under a policy of several selectors (DNF)', () => {
  const dnf = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  it('a stream satisfying one selector is accepted; one mixing them, or missing a label, is refused even in inject mode', () => {
    const ok = pushJson(jsonBody({ namespace: 'a', env: 'prod', app: 'x' }, { namespace: 'shared' }), dnf, INJECT);
    assert.equal(JSON.parse(ok.body.toString()).streams.length, 2);
    const streams: Record<string, string>[] = [
      { namespace: 'a', env: 'dev' },
      { namespace: 'a' },
      { app: 'x' },
      { namespace: 'shared', env: '', x: '1' },
    ];
    for (const stream of streams) {
      const push = () => pushJson(jsonBody(stream), dnf, INJECT);
      if (stream.namespace === 'shared') assert.doesNotThrow(push);
      else assert.throws(push, PolicyViolation, JSON.stringify(stream));
    }
  });
});
