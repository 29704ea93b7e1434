import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedInput } from '../errors.js';
import { parseStreamLabels } from './loki-stream-labels.js';

const accepted: { name: string; text: string; want: Record<string, string> }[] = [
  { name: 'one label', text: '{namespace="team-a"}', want: { namespace: 'team-a' } },
  {
    name: 'several, order kept',
    text: '{pod="p-1", app="api", namespace="team-a"}',
    want: { pod: 'p-1', app: 'api', namespace: 'team-a' },
  },
  { name: 'no spaces', text: '{a="1",b="2"}', want: { a: '1', b: '2' } },
  { name: 'PromQL whitespace everywhere', text: ' \t{\n a \r= "1" ,\tb="2" }\n', want: { a: '1', b: '2' } },
  { name: 'a trailing comma (PromQL label_set allows it)', text: '{a="1",}', want: { a: '1' } },
  { name: 'the empty label set', text: '{}', want: {} },
  { name: 'the empty set with spaces', text: '{ }', want: {} },
  { name: 'an empty value (the policy check treats it as missing)', text: '{namespace=""}', want: { namespace: '' } },
  { name: 'names with underscores and digits', text: '{_a1="x", __name__="up", B_2="y"}', want: { _a1: 'x', __name__: 'up', B_2: 'y' } },
  { name: 'keywords are plain names inside braces', text: '{by="1", on="2"}', want: { by: '1', on: '2' } },
  { name: 'escaped quote and backslash', text: '{a="say \\"hi\\" \\\\ bye"}', want: { a: 'say "hi" \\ bye' } },
  { name: 'a comma and brace inside a value', text: '{a="x,}{y"}', want: { a: 'x,}{y' } },
  {
    name: 'Go escapes: \\n \\t \\x41 \\101 \\u00e9 \\U0001F600',
    text: '{a="\\n\\t\\x41\\101\\u00e9\\U0001F600"}',
    want: { a: '\n\tAAé😀' },
  },
  { name: 'UTF-8 as is', text: '{team="équipe-α"}', want: { team: 'équipe-α' } },
  { name: 'an escaped value that spells another label', text: '{a="1\\", namespace=\\"team-b"}', want: { a: '1", namespace="team-b' } },
];

const refused: { name: string; text: string }[] = [
  { name: 'empty text', text: '' },
  { name: 'only spaces', text: '   ' },
  { name: 'garbage', text: 'junk' },
  { name: 'a metric name before the braces', text: 'up{a="1"}' },
  { name: 'no closing brace', text: '{a="1"' },
  { name: 'text after the set', text: '{a="1"} |= "x"' },
  { name: 'two sets', text: '{a="1"}{b="2"}' },
  { name: 'a lone comma', text: '{,}' },
  { name: 'two commas', text: '{a="1",,b="2"}' },
  { name: 'missing comma', text: '{a="1" b="2"}' },
  { name: 'regex matcher', text: '{a=~"1"}' },
  { name: 'negative matcher', text: '{a!="1"}' },
  { name: 'double equals', text: '{a=="1"}' },
  { name: 'single-quoted value', text: "{a='1'}" },
  { name: 'backquoted value', text: '{a=`1`}' },
  { name: 'a quoted label name', text: '{"a"="1"}' },
  { name: 'a name starting with a digit', text: '{1a="1"}' },
  { name: 'a name with a dot', text: '{k8s.ns="1"}' },
  { name: 'a name with a colon', text: '{a:b="1"}' },
  { name: 'a bare value', text: '{a=1}' },
  { name: 'a comment', text: '{a="1"} # c' },
  { name: 'unterminated value', text: '{a="1}' },
  { name: 'a raw newline inside a value', text: '{a="x\ny"}' },
  { name: 'an unknown escape', text: '{a="\\q"}' },
  { name: 'an escaped single quote (Go refuses it in "…")', text: '{a="\\\'"}' },
  { name: 'a non-ASCII byte escape', text: '{a="\\xff"}' },
  { name: 'a short hex escape', text: '{a="\\x4"}' },
  { name: 'a surrogate escape', text: '{a="\\ud800"}' },
  { name: 'a duplicate label', text: '{namespace="team-a", namespace="team-b"}' },
  { name: 'a duplicate label with the same value', text: '{a="1", a="1"}' },
  { name: 'a non-breaking space as whitespace', text: '{\u00a0a="1"}' },
  { name: 'a BOM before the set', text: '\ufeff{a="1"}' },
];

describe('parseStreamLabels', () => {
  for (const { name, text, want } of accepted) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(Object.fromEntries(parseStreamLabels(text, 'stream #0')), want);
    });
  }
  for (const { name, text } of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseStreamLabels(text, 'stream #3'),
        (e: unknown) => e instanceof UnsupportedInput && e.message.startsWith('stream #3: '),
      );
    });
  }
});
