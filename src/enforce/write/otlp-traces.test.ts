import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { FULL_ACCESS, buildLabelPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { PolicyViolation, UnsupportedInput } from '../errors.js';
import { enforceOtlpTraces, type OtlpTracesOptions } from './otlp-traces.js';

const TEAM_A = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;
const TEAMS = buildLabelPolicy({ values: ['team-.+'] }) as LabelPolicy;
const OPTIONS: OtlpTracesOptions = { maxDecodedBytes: 1 << 20 };
const MAPPED: OtlpTracesOptions = { maxDecodedBytes: 1 << 20, attributes: { namespace: 'k8s.namespace.name' } };

// opentelemetry-proto, the fields the tests need (an independent encoder: not the code under test).
const root = protobuf.parse(`
  syntax = "proto3";
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
  message ScopeSpans { repeated Span spans = 2; }
  message Span { bytes trace_id = 1; bytes span_id = 2; string name = 5; fixed64 start_time_unix_nano = 7; }
  message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue {
    oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; bytes bytes_value = 7; }
  }
`).root;
const Request = root.lookupType('ExportTraceServiceRequest');
const ResourceSpans = root.lookupType('ResourceSpans');
const Resource = root.lookupType('Resource');

type Attribute = [key: string, value: string | number | boolean];
type Attributes = Attribute[];

function anyValue(value: Attribute[1]): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return { intValue: value };
}

function resourceSpans(attributes: Attributes) {
  return {
    resource: { attributes: attributes.map(([key, value]) => ({ key, value: anyValue(value) })) },
    scopeSpans: [
      { spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), name: 'GET /', startTimeUnixNano: '1700000000000000000' }] },
    ],
  };
}

function protoBody(...resources: Attributes[]): Buffer {
  const message = Request.fromObject({ resourceSpans: resources.map(resourceSpans) });
  return Buffer.from(Request.encode(message).finish());
}

/** OTLP JSON as exporters write it: ids hex, 64-bit integers as strings. */
function jsonBody(...resources: Attributes[]): Buffer {
  const toJson = (attributes: Attributes) => ({
    resource: {
      attributes: attributes.map(([key, value]) => ({
        key,
        value: typeof value === 'number' ? { intValue: String(value) } : anyValue(value),
      })),
    },
    scopeSpans: [
      { spans: [{ traceId: '01'.repeat(16), spanId: '02'.repeat(8), name: 'GET /', startTimeUnixNano: '1700000000000000000' }] },
    ],
  });
  return Buffer.from(JSON.stringify({ resourceSpans: resources.map(toJson) }));
}

/** A hand-encoded length-delimited field (tag, length, payload). */
function field(number: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
}

const stringAttribute = (key: string, value: string) => field(1, Buffer.concat([field(1, key), field(2, field(1, value))]));

const PROTO = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

function enforce(body: Buffer, contentType: string | undefined, policy = TEAM_A, options = OPTIONS, contentEncoding?: string) {
  return enforceOtlpTraces({ body, contentType, contentEncoding }, policy, options);
}

const NS_A: Attributes = [
  ['service.name', 'api'],
  ['namespace', 'team-a'],
];
const NS_B: Attributes = [
  ['service.name', 'api'],
  ['namespace', 'team-b'],
];

describe('enforceOtlpTraces: allowed bodies', () => {
  const cases: { name: string; resources: Attributes[]; policy?: LabelPolicy; options?: OtlpTracesOptions }[] = [
    { name: 'one resource of the namespace', resources: [NS_A] },
    { name: 'several resources of the namespace', resources: [NS_A, [['namespace', 'team-a']]] },
    { name: 'no resource spans', resources: [] },
    { name: 'a regex rule', resources: [NS_A, [['namespace', 'team-z']]], policy: TEAMS },
    {
      name: 'the key repeated with the same value',
      resources: [
        [
          ['namespace', 'team-a'],
          ['namespace', 'team-a'],
        ],
      ],
    },
    {
      name: 'traceql_attributes: the mapped attribute',
      resources: [
        [
          ['k8s.namespace.name', 'team-a'],
          ['namespace', 'team-b'],
        ],
      ],
      options: MAPPED,
    },
  ];
  for (const { name, resources, policy, options } of cases) {
    it(`protobuf, ${name}: the same bytes are forwarded`, () => {
      const body = protoBody(...resources);
      const out = enforce(body, PROTO, policy, options);
      assert.equal(out.body, body);
      assert.equal(out.contentType, undefined);
    });
    it(`JSON, ${name}: forwarded re-serialised, unchanged in content`, () => {
      const body = jsonBody(...resources);
      const out = enforce(body, 'Application/JSON; charset=utf-8', policy, options);
      assert.equal(out.contentType, JSON_TYPE);
      assert.deepEqual(JSON.parse(out.body.toString()), JSON.parse(body.toString()));
    });
  }
});

describe('enforceOtlpTraces: refused resources', () => {
  const cases: { name: string; resources: Attributes[]; index: number; options?: OtlpTracesOptions }[] = [
    { name: 'another namespace', resources: [NS_B], index: 0 },
    { name: 'another namespace after an allowed one', resources: [NS_A, NS_A, NS_B], index: 2 },
    { name: 'the attribute missing', resources: [NS_A, [['service.name', 'api']]], index: 1 },
    { name: 'a non-string value', resources: [[['namespace', 7]]], index: 0 },
    { name: 'a boolean value', resources: [[['namespace', true]]], index: 0 },
    {
      name: 'the key repeated with different values',
      resources: [
        [
          ['namespace', 'team-a'],
          ['namespace', 'team-b'],
        ],
      ],
      index: 0,
    },
    {
      name: 'the key repeated, allowed value last',
      resources: [
        [
          ['namespace', 'team-b'],
          ['namespace', 'team-a'],
        ],
      ],
      index: 0,
    },
    { name: 'traceql_attributes: the label name is not the attribute', resources: [[['namespace', 'team-a']]], index: 0, options: MAPPED },
    {
      name: 'traceql_attributes: mapped attribute of another namespace',
      resources: [
        [
          ['k8s.namespace.name', 'team-b'],
          ['namespace', 'team-a'],
        ],
      ],
      index: 0,
      options: MAPPED,
    },
  ];
  for (const { name, resources, index, options } of cases) {
    for (const [kind, body, type] of [
      ['protobuf', protoBody(...resources), PROTO],
      ['JSON', jsonBody(...resources), JSON_TYPE],
    ] as const) {
      it(`${kind}, ${name}: PolicyViolation naming resource spans #${index}`, () => {
        assert.throws(
          () => enforce(body, type, TEAM_A, options),
          (e: unknown) => e instanceof PolicyViolation && e.message.includes(`resource spans #${index}:`) && !e.message.includes('team-b'),
        );
      });
    }
  }

  it('protobuf: a resource with no Resource at all', () => {
    assert.throws(() => enforce(field(1, Buffer.alloc(0)), PROTO), PolicyViolation);
    assert.throws(() => enforce(Buffer.from([0x0a, 0x02, 0x0a, 0x00]), PROTO), PolicyViolation);
  });

  it('protobuf: a repeated resource field counts as one resource (Go merges): team-a then team-b', () => {
    const first = Buffer.from(
      Resource.encode(Resource.fromObject({ attributes: [{ key: 'namespace', value: { stringValue: 'team-a' } }] })).finish(),
    );
    const second = Buffer.from(
      Resource.encode(Resource.fromObject({ attributes: [{ key: 'namespace', value: { stringValue: 'team-b' } }] })).finish(),
    );
    const spans = Buffer.concat([field(1, first), field(1, second)]);
    assert.throws(() => enforce(field(1, spans), PROTO), PolicyViolation);
  });

  it('protobuf: a repeated resource with the attribute only in the second occurrence is allowed', () => {
    const empty = Buffer.from(ResourceSpans.encode(ResourceSpans.fromObject({ resource: {} })).finish());
    const withNs = Buffer.from(
      ResourceSpans.encode(
        ResourceSpans.fromObject({ resource: { attributes: [{ key: 'namespace', value: { stringValue: 'team-a' } }] } }),
      ).finish(),
    );
    const body = field(1, Buffer.concat([empty, withNs]));
    assert.equal(enforce(body, PROTO).body, body);
  });

  it('protobuf: a value holding two oneof fields is not a string (Go would keep the last)', () => {
    const value = Buffer.concat([field(1, 'team-b'), field(1, 'team-a')]);
    const body = field(1, field(1, field(1, Buffer.concat([field(1, 'namespace'), field(2, value)]))));
    assert.throws(() => enforce(body, PROTO), PolicyViolation);
  });

  it('protobuf: a value field repeated (merged by Go) is not a string', () => {
    const kv = Buffer.concat([field(1, 'namespace'), field(2, field(1, 'team-a')), field(2, field(1, 'team-b'))]);
    assert.throws(() => enforce(field(1, field(1, field(1, kv))), PROTO), PolicyViolation);
  });

  it('protobuf: hand-encoded attribute of the namespace passes, a leading BOM does not', () => {
    const body = field(1, field(1, stringAttribute('namespace', 'team-a')));
    assert.equal(enforce(body, PROTO).body, body);
    assert.throws(() => enforce(field(1, field(1, stringAttribute('namespace', '\ufeffteam-a'))), PROTO), PolicyViolation);
    assert.throws(() => enforce(field(1, field(1, stringAttribute('\ufeffnamespace', 'team-a'))), PROTO), PolicyViolation);
  });
});

describe('enforceOtlpTraces: JSON field names', () => {
  const refused: { name: string; body: unknown }[] = [
    { name: 'snake_case resource_spans', body: { resource_spans: [resourceSpans(NS_B)] } },
    { name: 'both resourceSpans and resource_spans', body: { resourceSpans: [], resource_spans: [resourceSpans(NS_B)] } },
    { name: 'ResourceSpans in another case', body: { ResourceSpans: [resourceSpans(NS_B)] } },
    { name: 'a second resource member', body: { resourceSpans: [{ ...resourceSpans(NS_A), Resource: resourceSpans(NS_B).resource }] } },
    { name: 'a second attributes member', body: { resourceSpans: [{ resource: { attributes: [], Attributes: [] } }] } },
    {
      name: 'a second key member',
      body: { resourceSpans: [{ resource: { attributes: [{ key: 'namespace', Key: 'x', value: { stringValue: 'team-a' } }] } }] },
    },
  ];
  for (const { name, body } of refused) {
    it(`${name} → UnsupportedInput (400)`, () => {
      assert.throws(
        () => enforce(Buffer.from(JSON.stringify(body)), JSON_TYPE),
        (e: unknown) => e instanceof UnsupportedInput && !e.mediaType,
      );
    });
  }

  it('snake_case string_value is not a string value: refused as a violation', () => {
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'namespace', value: { string_value: 'team-a' } }] } }] };
    assert.throws(() => enforce(Buffer.from(JSON.stringify(body)), JSON_TYPE), PolicyViolation);
  });

  it('a value with stringValue and another member is not a string value', () => {
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'namespace', value: { stringValue: 'team-a', intValue: '1' } }] } }] };
    assert.throws(() => enforce(Buffer.from(JSON.stringify(body)), JSON_TYPE), PolicyViolation);
  });

  it('duplicate members: what was checked (the last) is what is forwarded', () => {
    const text =
      '{"resourceSpans":[{"resource":{"attributes":[{"key":"namespace","value":{"stringValue":"team-b"}}]}}],' +
      '"resourceSpans":[{"resource":{"attributes":[{"key":"namespace","value":{"stringValue":"team-a"}}]}}]}';
    const out = enforce(Buffer.from(text), JSON_TYPE);
    assert.ok(!out.body.toString().includes('team-b'));
    assert.equal(out.body.toString().match(/resourceSpans/g)?.length, 1);
  });

  it('an integer beyond 2^53 as a JSON number → UnsupportedInput, not rounded', () => {
    const text =
      '{"resourceSpans":[{"resource":{"attributes":[{"key":"namespace","value":{"stringValue":"team-a"}}]},"scopeSpans":[{"spans":[{"startTimeUnixNano":1700000000000000001}]}]}]}';
    assert.throws(() => enforce(Buffer.from(text), JSON_TYPE), UnsupportedInput);
  });
});

describe('enforceOtlpTraces: malformed and unsupported bodies', () => {
  const malformed: { name: string; body: Buffer; type: string }[] = [
    { name: 'JSON syntax', body: Buffer.from('{"resourceSpans":['), type: JSON_TYPE },
    { name: 'JSON not an object', body: Buffer.from('[]'), type: JSON_TYPE },
    { name: 'JSON resourceSpans not a list', body: Buffer.from('{"resourceSpans":{}}'), type: JSON_TYPE },
    {
      name: 'JSON attribute key not a string',
      body: Buffer.from('{"resourceSpans":[{"resource":{"attributes":[{"key":1}]}}]}'),
      type: JSON_TYPE,
    },
    { name: 'empty JSON body', body: Buffer.alloc(0), type: JSON_TYPE },
    { name: 'protobuf length past the end', body: Buffer.from([0x0a, 0x05, 0x0a]), type: PROTO },
    { name: 'protobuf truncated varint', body: Buffer.from([0x0a, 0x80]), type: PROTO },
    { name: 'protobuf resource_spans as a varint', body: Buffer.from([0x08, 0x01]), type: PROTO },
    { name: 'protobuf resource as a varint', body: field(1, Buffer.from([0x08, 0x01])), type: PROTO },
    { name: 'protobuf attributes as fixed32', body: field(1, field(1, Buffer.from([0x0d, 1, 2, 3, 4]))), type: PROTO },
    { name: 'protobuf dropped_attributes_count length-delimited', body: field(1, field(1, field(2, 'x'))), type: PROTO },
    { name: 'protobuf attribute key as a varint', body: field(1, field(1, field(1, Buffer.from([0x08, 0x01])))), type: PROTO },
    {
      name: 'protobuf string_value as a varint',
      body: field(1, field(1, field(1, Buffer.concat([field(1, 'namespace'), field(2, Buffer.from([0x08, 0x01]))])))),
      type: PROTO,
    },
    {
      name: 'protobuf attribute key repeated',
      body: field(1, field(1, field(1, Buffer.concat([field(1, 'namespace'), field(1, 'ns'), field(2, field(1, 'team-a'))])))),
      type: PROTO,
    },
    {
      name: 'protobuf key not UTF-8',
      body: field(1, field(1, field(1, Buffer.concat([field(1, Buffer.from([0xff])), field(2, field(1, 'team-a'))])))),
      type: PROTO,
    },
    { name: 'protobuf group wire type', body: Buffer.from([0x0b, 0x0c]), type: PROTO },
    { name: 'gzip header on a plain body', body: protoBody(NS_A), type: PROTO },
  ];
  for (const { name, body, type } of malformed) {
    it(`${name} → UnsupportedInput (400)`, () => {
      const encoding = name.startsWith('gzip') ? 'gzip' : undefined;
      assert.throws(
        () => enforce(body, type, TEAM_A, OPTIONS, encoding),
        (e: unknown) => e instanceof UnsupportedInput && !e.mediaType,
      );
    });
  }

  const unsupported: { name: string; type: string | undefined; encoding?: string }[] = [
    { name: 'no content type', type: undefined },
    { name: 'text/plain', type: 'text/plain' },
    { name: 'protobuf under application/protobuf', type: 'application/protobuf' },
    { name: 'deflate', type: PROTO, encoding: 'deflate' },
    { name: 'zstd', type: PROTO, encoding: 'zstd' },
    { name: 'gzip twice', type: PROTO, encoding: 'gzip, gzip' },
  ];
  for (const { name, type, encoding } of unsupported) {
    it(`${name} → UnsupportedInput (415)`, () => {
      assert.throws(
        () => enforce(protoBody(NS_A), type, TEAM_A, OPTIONS, encoding),
        (e: unknown) => e instanceof UnsupportedInput && e.mediaType,
      );
    });
  }
});

describe('enforceOtlpTraces: gzip', () => {
  it('protobuf: checks the decompressed body and forwards it, without content encoding', () => {
    const body = protoBody(NS_A);
    const out = enforce(gzipSync(body), PROTO, TEAM_A, OPTIONS, 'gzip');
    assert.deepEqual(out.body, body);
    assert.equal(out.contentType, PROTO);
  });

  it('protobuf: another namespace inside gzip is refused', () => {
    assert.throws(() => enforce(gzipSync(protoBody(NS_A, NS_B)), PROTO, TEAM_A, OPTIONS, 'GZIP'), PolicyViolation);
  });

  it('JSON: checks the decompressed body', () => {
    const out = enforce(gzipSync(jsonBody(NS_A)), JSON_TYPE, TEAM_A, OPTIONS, 'gzip');
    assert.deepEqual(JSON.parse(out.body.toString()), JSON.parse(jsonBody(NS_A).toString()));
    assert.throws(() => enforce(gzipSync(jsonBody(NS_B)), JSON_TYPE, TEAM_A, OPTIONS, 'gzip'), PolicyViolation);
  });

  it('a gzip bomb is refused at the bound, not expanded', () => {
    const bomb = gzipSync(Buffer.alloc(8 << 20));
    assert.ok(bomb.length < 16 << 10);
    assert.throws(() => enforce(bomb, PROTO, TEAM_A, { maxDecodedBytes: 1 << 20 }, 'gzip'), UnsupportedInput);
  });
});

describe('enforceOtlpTraces: full access', () => {
  it('returns the body untouched, without decoding it', () => {
    const garbage = Buffer.from('not even protobuf');
    for (const type of [PROTO, JSON_TYPE, undefined]) {
      const out = enforce(garbage, type, FULL_ACCESS, OPTIONS, 'zstd');
      assert.equal(out.body, garbage);
      assert.equal(out.contentType, undefined);
    }
  });
});
