import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from './args.js';

test('a switch never takes the word after it: that word is a positional, wherever the switch stands', () => {
  const parsed = parseArgs(['test', '--config', 'c.toml', 'a.yaml', '--watch', 'b.yaml', '--force', 'c.yaml']);
  assert.equal(parsed.command, 'test');
  assert.equal(parsed.flags.get('config'), 'c.toml');
  assert.equal(parsed.flags.get('watch'), true);
  assert.equal(parsed.flags.get('force'), true);
  assert.deepEqual(parsed.positionals, ['a.yaml', 'b.yaml', 'c.yaml']);
  assert.deepEqual(parseArgs(['--version', 'serve']).command, 'serve');
  assert.deepEqual(parseArgs(['serve', '--help', 'x']).positionals, ['x']);
});

test('a flag with a value takes the next word, or its `=` part; one left without a value is true', () => {
  const parsed = parseArgs(['test', '--format', 'junit', '--init', 'out.yaml', '--tokens=t.json', 'a.yaml']);
  assert.equal(parsed.flags.get('format'), 'junit');
  assert.equal(parsed.flags.get('init'), 'out.yaml');
  assert.equal(parsed.flags.get('tokens'), 't.json');
  assert.deepEqual(parsed.positionals, ['a.yaml']);
  assert.equal(parseArgs(['test', '--init', '--force']).flags.get('init'), true);
  assert.equal(parseArgs(['test', '--watch=yes']).flags.get('watch'), 'yes');
});
