import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeJsonPush } from './loki-push-json.js';
import { scanJsonPush } from './loki-push-json-scan.js';

const LINE = '["1700000000000000000","hello"]';
const push = (...streams: string[]): string => `{"streams":[${streams.join(',')}]}`;
const stream = (labels: string, values = `[${LINE}]`): string => `{"stream":${labels},"values":${values}}`;

function labelsOf(text: string): Record<string, string>[] | undefined {
  return scanJsonPush(Buffer.from(text))?.map((s) => Object.fromEntries(s.labels));
}

describe('scanJsonPush: the plain form, read from the bytes', () => {
  const plain: { name: string; text: string; want: Record<string, string>[] }[] = [
    { name: 'one stream', text: push(stream('{"namespace":"team-a","app":"x"}')), want: [{ namespace: 'team-a', app: 'x' }] },
    { name: 'no streams', text: '{"streams":[]}', want: [] },
    {
      name: 'JSON whitespace anywhere',
      text: ' \n{ "streams" :\t[ { "stream" : { "a" : "1" } , "values" : [ ] } ] }\r\n',
      want: [{ a: '1' }],
    },
    { name: 'values first', text: `{"streams":[{"values":[${LINE}],"stream":{"a":"1"}}]}`, want: [{ a: '1' }] },
    { name: 'no values member', text: '{"streams":[{"stream":{"a":"1"}}]}', want: [{ a: '1' }] },
    { name: 'empty labels', text: push(stream('{}')), want: [{}] },
    { name: 'an escaped label value', text: push(stream('{"a":"x\\"y\\u00e9\\ud83d\\ude00"}')), want: [{ a: 'x"yé😀' }] },
    { name: 'a UTF-8 label value', text: push(stream('{"a":"é"}')), want: [{ a: 'é' }] },
    { name: 'escapes in lines', text: push(stream('{"a":"1"}', '[["1","\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000"]]')), want: [{ a: '1' }] },
    {
      name: 'structured metadata',
      text: push(stream('{"a":"1"}', '[["1","l",{"trace_id":"abc","user":"é"}],["2","m",{}]]')),
      want: [{ a: '1' }],
    },
  ];
  for (const { name, text, want } of plain) {
    it(`reads ${name}, as the full reader does`, () => {
      assert.deepEqual(labelsOf(text), want);
      assert.deepEqual(
        decodeJsonPush(Buffer.from(text)).map((s) => Object.fromEntries(s.labels)),
        want,
      );
    });
  }

  it('gives where each stream object sits', () => {
    const text = push(stream('{"a":"1"}'), stream(' {"b":"2"}'));
    const scanned = scanJsonPush(Buffer.from(text)) ?? [];
    assert.deepEqual(
      scanned.map((s) => text.slice(s.labelsStart, s.labelsEnd)),
      ['{"a":"1"}', '{"b":"2"}'],
    );
  });

  // Each of these leaves the body to the full reader (which refuses or re-serialises it).
  const notPlain: { name: string; text: string | Buffer }[] = [
    { name: 'Streams', text: '{"Streams":[]}' },
    { name: 'STREAMS', text: '{"STREAMS":[]}' },
    { name: 'an escaped "streams"', text: '{"\\u0073treams":[]}' },
    { name: 'streams twice', text: '{"streams":[],"streams":[]}' },
    { name: 'another root member', text: '{"streams":[],"x":1}' },
    { name: 'streams null', text: '{"streams":null}' },
    { name: 'a byte-order mark', text: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"streams":[]}')]) },
    { name: 'trailing data', text: '{"streams":[]} {"streams":[]}' },
    { name: 'trailing garbage', text: '{"streams":[]}x' },
    { name: 'stream twice', text: push('{"stream":{"a":"1"},"stream":{"a":"2"},"values":[]}') },
    { name: 'values twice', text: push('{"stream":{"a":"1"},"values":[],"values":[]}') },
    { name: 'Stream', text: push('{"Stream":{"a":"1"},"values":[]}') },
    { name: 'stream and Stream', text: push('{"stream":{"a":"1"},"Stream":{"a":"2"}}') },
    { name: 'an escaped "stream"', text: push('{"\\u0073tream":{"a":"1"}}') },
    { name: 'a "stream\\u0000" key', text: push('{"stream":{"a":"1"},"stream\\u0000":{"a":"2"}}') },
    { name: 'no stream member', text: push('{"values":[]}') },
    { name: 'stream null', text: push('{"stream":null}') },
    { name: 'values null', text: push('{"stream":{},"values":null}') },
    { name: 'a label named twice', text: push(stream('{"a":"1","a":"2"}')) },
    { name: 'an escaped label name', text: push(stream('{"n\\u0061mespace":"team-a"}')) },
    { name: 'a backslash label name', text: push(stream('{"\\\\u006eamespace":"team-b"}')) },
    { name: 'a label name with a dot', text: push(stream('{"a.b":"1"}')) },
    { name: 'a label name starting with a digit', text: push(stream('{"1a":"1"}')) },
    { name: 'a number label value', text: push(stream('{"a":1}')) },
    { name: 'an unquoted label value before a quote', text: push(stream('{"a":x"}')) },
    { name: 'a label value of null', text: push(stream('{"a":null}')) },
    { name: 'a lone surrogate in a label value', text: push(stream('{"a":"\\ud800"}')) },
    { name: 'a null entry', text: push(stream('{"a":"1"}', '[null]')) },
    { name: 'an entry of one string', text: push(stream('{"a":"1"}', '[["1"]]')) },
    { name: 'an entry of four', text: push(stream('{"a":"1"}', '[["1","l",{},"x"]]')) },
    { name: 'a number timestamp', text: push(stream('{"a":"1"}', '[[1,"l"]]')) },
    { name: 'an escaped timestamp (Loki reads its raw bytes as digits)', text: push(stream('{"a":"1"}', '[["17\\u0030","l"]]')) },
    { name: 'metadata with an escape', text: push(stream('{"a":"1"}', '[["1","l",{"k":"\\u0041"}]]')) },
    { name: 'metadata with a key twice', text: push(stream('{"a":"1"}', '[["1","l",{"k":"1","k":"2"}]]')) },
    { name: 'metadata of numbers', text: push(stream('{"a":"1"}', '[["1","l",{"k":1}]]')) },
    { name: 'a raw control byte in a line', text: push(stream('{"a":"1"}', '[["1","a\tb"]]')) },
    { name: 'an unknown escape', text: push(stream('{"a":"1"}', '[["1","\\x41"]]')) },
    { name: 'a short \\u escape', text: push(stream('{"a":"1"}', '[["1","\\u12"]]')) },
    {
      name: 'invalid UTF-8',
      text: Buffer.concat([Buffer.from(push(stream('{"a":"1"}', '[["1","'))), Buffer.from([0xff]), Buffer.from('"]]}]}')]),
    },
    { name: 'a trailing comma', text: push(stream('{"a":"1",}')) },
    { name: 'a truncated body', text: push(stream('{"a":"1"}')).slice(0, -3) },
    { name: 'an unterminated string', text: '{"streams":[{"stream":{"a":"1' },
    { name: 'an empty body', text: '' },
    { name: 'an array root', text: '[]' },
  ];
  it('leaves short bodies at any buffer alignment to the full reader, never throwing', () => {
    for (const text of ['', '{', '{"', '{"s', '{"st', ' ', '{}', '[]', '{"streams":[]']) {
      for (let offset = 0; offset < 8; offset++) {
        const body = Buffer.concat([Buffer.alloc(offset), Buffer.from(text)]).subarray(offset);
        assert.equal(scanJsonPush(body), undefined, `${JSON.stringify(text)} at ${offset}`);
      }
    }
  });

  for (const { name, text } of notPlain) {
    it(`leaves ${name} to the full reader`, () => {
      assert.equal(scanJsonPush(Buffer.isBuffer(text) ? text : Buffer.from(text)), undefined);
    });
  }
});

describe('scanJsonPush against the full reader (property)', () => {
  // Mostly the plain form, with every kind of departure mixed in: other spellings, escapes, duplicates.
  const odd = fc.constantFrom(
    'Streams',
    'Stream',
    '\\u0073treams',
    '\\u0073tream',
    'stream\\u0000',
    'a.b',
    '',
    'n\\u0061mespace',
    '\\\\u0061',
  );
  const mostly = (...plain: string[]) => fc.oneof({ arbitrary: fc.constantFrom(...plain), weight: 20 }, { arbitrary: odd, weight: 1 });
  const text = fc.oneof(
    { arbitrary: fc.constantFrom('team-a', 'x', '', 'é', '\\"', '\\u00e9', '\\ud83d\\ude00'), weight: 30 },
    { arbitrary: fc.constantFrom('\\ud800', 'a\tb', '\\x'), weight: 1 },
  );
  const space = fc.constantFrom(...Array<string>(12).fill(''), ' ', '\n', '\ufeff');
  const value = fc.oneof(
    { arbitrary: text.map((v) => `"${v}"`), weight: 30 },
    { arbitrary: fc.constantFrom('x"', '1', 'null', '{}'), weight: 1 },
  );
  const object = (keys: fc.Arbitrary<string>) =>
    fc.array(fc.tuple(keys, value), { maxLength: 3 }).map((pairs) => `{${pairs.map(([k, v]) => `"${k}":${v}`).join(',')}}`);
  const labels = object(mostly('namespace', 'app', 'a'));
  const entry = fc.oneof(
    { arbitrary: fc.tuple(text, text).map(([t, l]) => `["${t}","${l}"]`), weight: 20 },
    { arbitrary: fc.tuple(text, text, object(mostly('trace_id', 'k'))).map(([t, l, m]) => `["${t}","${l}",${m}]`), weight: 10 },
    { arbitrary: fc.constantFrom('null', '[1,"x"]', '["1"]'), weight: 1 },
  );
  const member = fc.oneof(
    { arbitrary: fc.tuple(mostly('stream'), labels).map(([k, l]) => `"${k}":${l}`), weight: 10 },
    { arbitrary: fc.tuple(mostly('values'), fc.array(entry, { maxLength: 2 })).map(([k, e]) => `"${k}":[${e.join(',')}]`), weight: 10 },
    { arbitrary: mostly('stream', 'values').map((k) => `"${k}":null`), weight: 1 },
  );
  const streamObject = fc.array(member, { minLength: 1, maxLength: 3 }).map((members) => `{${members.join(',')}}`);
  const body = fc
    .tuple(
      space,
      mostly('streams'),
      fc.array(streamObject, { maxLength: 3 }),
      fc.constantFrom(...Array<string>(12).fill(''), ',"streams":[]', ' x', ',"x":1'),
      space,
    )
    .map(([s1, k, streams, extra, s2]) => `${s1}{"${k}":[${streams.join(',')}]${extra}}${s2}`);

  it('whatever it reads, the full reader reads too, with the same labels', () => {
    fc.assert(
      fc.property(body, (t) => {
        const scanned = scanJsonPush(Buffer.from(t));
        if (scanned === undefined) return;
        JSON.parse(t); // what it reads is JSON
        const full = decodeJsonPush(Buffer.from(t));
        assert.deepEqual(
          scanned.map((s) => [...s.labels]),
          full.map((s) => [...s.labels]),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it('a plain push with bytes changed, inserted or removed: read only when it is JSON the full reader reads alike', () => {
    const base = push(
      stream('{"namespace":"team-a","app":"x\\u00e9"}', '[["1700000000000000000","a \\"b\\"",{"k":"v"}],["2","c"]]'),
      stream('{"a":"1"}'),
    );
    const significant = fc.constantFrom(...'{}[]":,\\ \t\nuaS0\u0000\u00e9'.split(''));
    const edit = fc.tuple(fc.constantFrom('replace', 'insert', 'remove'), fc.nat(base.length - 1), significant);
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let text = base;
        for (const [kind, at, ch] of edits) {
          const i = at % (text.length + 1);
          text =
            kind === 'insert'
              ? text.slice(0, i) + ch + text.slice(i)
              : text.slice(0, i) + (kind === 'replace' ? ch : '') + text.slice(i + 1);
        }
        const scanned = scanJsonPush(Buffer.from(text));
        if (scanned === undefined) return;
        JSON.parse(text);
        assert.deepEqual(
          scanned.map((s) => [...s.labels]),
          decodeJsonPush(Buffer.from(text)).map((s) => [...s.labels]),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it('finds a quote, a backslash or a control byte at any offset of a line, whatever the buffer alignment', () => {
    const special = fc.constantFrom('"', '\\', '\\u00e9', '\\"', '\u0001', '\u001f', '\t', '\u0000', 'é', '\u007f', ' ');
    const line = fc.array(fc.oneof({ arbitrary: fc.constant('a'), weight: 8 }, { arbitrary: special, weight: 1 }), { maxLength: 40 });
    fc.assert(
      fc.property(line, fc.integer({ min: 0, max: 7 }), (parts, offset) => {
        const text = push(stream('{"a":"1"}', `[["1","${parts.join('')}"]]`));
        const padded = Buffer.concat([Buffer.alloc(offset, 0x20), Buffer.from(text)]).subarray(offset);
        let isJson = true;
        try {
          JSON.parse(text);
        } catch {
          isJson = false;
        }
        assert.equal(scanJsonPush(padded) !== undefined, isJson, JSON.stringify(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads what JSON.stringify writes of a plain push', () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
    const value = fc.string({ unit: 'grapheme', maxLength: 8 });
    const pushes = fc.array(
      fc.record({
        stream: fc.dictionary(name, value, { maxKeys: 4 }),
        values: fc.array(fc.tuple(fc.stringMatching(/^[0-9]{1,19}$/), fc.string()), { maxLength: 3 }),
      }),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(pushes, (streams) => {
        const scanned = scanJsonPush(Buffer.from(JSON.stringify({ streams })));
        assert.deepEqual(
          scanned?.map((s) => Object.fromEntries(s.labels)),
          streams.map((s) => ({ ...s.stream })),
        );
      }),
      { numRuns: 500 },
    );
  });
});
