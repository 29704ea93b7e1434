import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AmbiguousJsonKey } from './errors.js';
import { foldGoName, readGoField, readGoStruct } from './go-json.js';

// What Go's encoding/json (bytes.EqualFold, unicode.SimpleFold orbits) reads as the same field name.
const SAME: [string, string][] = [
  ['id', 'ID'],
  ['id', 'Id'],
  ['id', 'iD'],
  ['matchers', 'MATCHERS'],
  ['isRegex', 'ISREGEX'],
  ['kind', '\u212aind'], // KELVIN SIGN folds to k
  ['KIND', 'kind'],
  ['streams', 'stream\u017f'], // LATIN SMALL LETTER LONG S folds to s
  ['streams', '\u017fTREAMS'],
  ['values', 'VALUE\u017f'],
];

// What Go keeps apart: the dotted/dotless i pair has no simple fold to ASCII; underscores are significant.
const DIFFERENT: [string, string][] = [
  ['id', '\u0130d'], // LATIN CAPITAL LETTER I WITH DOT ABOVE
  ['id', '\u0131d'], // LATIN SMALL LETTER DOTLESS I
  ['resourceSpans', 'resource_spans'],
  ['stream', 'streams'],
  ['ss', '\u00df'], // ß has no simple fold to "ss"
];

describe('foldGoName', () => {
  for (const [a, b] of SAME) it(`${a} ~ ${JSON.stringify(b)}`, () => assert.equal(foldGoName(a), foldGoName(b)));
  for (const [a, b] of DIFFERENT) it(`${a} !~ ${JSON.stringify(b)}`, () => assert.notEqual(foldGoName(a), foldGoName(b)));
});

describe('readGoStruct', () => {
  it('returns the fields under their canonical names and drops members that name no field', () => {
    assert.deepEqual(readGoStruct({ ID: 'x', Matchers: [], other: 1, '\u0130d': 'y' }, ['id', 'matchers'], 'silence'), {
      id: 'x',
      matchers: [],
    });
  });

  it('leaves absent fields out', () => {
    assert.deepEqual(readGoStruct({}, ['id'], 'silence'), {});
  });

  const ambiguous: { name: string; object: Record<string, unknown> }[] = [
    { name: 'id and ID', object: { id: 'a', ID: 'b' } },
    { name: 'Id and iD', object: { Id: 'a', iD: 'b' } },
    { name: 'kind and the Kelvin sign', object: { kind: 'a', '\u212aIND': 'b' } },
    { name: 'streams and the long s', object: { streams: [], '\u017ftreams': [] } },
  ];
  for (const { name, object } of ambiguous) {
    it(`refuses ${name}`, () => {
      assert.throws(() => readGoStruct(object, ['id', 'kind', 'streams'], 'body'), AmbiguousJsonKey);
    });
  }

  it('does not refuse two members that name no field', () => {
    assert.deepEqual(readGoStruct({ x: 1, X: 2 }, ['id'], 'body'), {});
  });

  it('readGoField reads one field', () => {
    assert.equal(readGoField({ VALUES: [1] }, 'values', 'stream')?.toString(), '1');
    assert.throws(() => readGoField({ values: [], Values: [] }, 'values', 'stream'), /"values" and "Values" name the same field/);
  });
});
