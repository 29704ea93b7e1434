import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import snappy from 'snappyjs';
import { FULL_ACCESS, buildLabelPolicy, type LabelPolicy } from '../../policy/label-policy.js';
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

  it('rejects a stream of another namespace, naming it', () => {
    const body = jsonBody({ namespace: 'team-a' }, { namespace: 'team-b' });
    assert.throws(() => pushJson(body, ONE, REJECT), (e: unknown) => e instanceof PolicyViolation && /#1/.test(e.message));
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
    assert.throws(() => pushJson(jsonBody({ namespace: 'team-a' }), ONE, REJECT, 'br'), (e: unknown) => e instanceof UnsupportedInput && e.mediaType);
  });

  it('refuses a gzip bomb beyond the bound', () => {
    const big = gzipSync(Buffer.from(JSON.stringify({ streams: [], pad: 'x'.repeat(2 << 20) })));
    assert.throws(() => pushJson(big, ONE, REJECT, 'gzip'), UnsupportedInput);
  });

  it('refuses malformed values and non-string labels', () => {
    assert.throws(() => pushJson(Buffer.from('{"streams":[{"stream":{"namespace":1},"values":[]}]}'), ONE, REJECT), UnsupportedInput);
    assert.throws(() => pushJson(Buffer.from('{"streams":[{"stream":{"namespace":"team-a"},"values":[[1,"x"]]}]}'), ONE, REJECT), UnsupportedInput);
  });

  it('full access forwards any labels', () => {
    assert.doesNotThrow(() => pushJson(jsonBody({ namespace: 'anything' }), FULL_ACCESS, REJECT));
  });
});

describe('enforceLokiPush: protobuf', () => {
  it('accepts, re-encodes and keeps line bytes and timestamps exactly', () => {
    const out = pushProto(protoBody('{namespace="team-a", app="x"}'), ONE, REJECT);
    assert.equal(out.contentType, 'application/x-protobuf');
    const decoded = decodeProtoPush(out.body, 1 << 20);
    assert.equal(decoded.streams[0]?.labels, '{app="x", namespace="team-a"}');
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
    for (const labels of ['{namespace=~"team-a"}', '{namespace="team-a"} |= "x"', '{namespace="team-a", namespace="team-b"}', 'junk']) {
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
