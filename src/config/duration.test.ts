import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationMs, parseDurationMs } from './duration.js';

test('parses Go-style durations into milliseconds', () => {
  assert.equal(parseDurationMs('90s'), 90_000);
  assert.equal(parseDurationMs('1m30s'), 90_000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('15m'), 900_000);
  assert.equal(parseDurationMs('1h'), 3_600_000);
  assert.equal(parseDurationMs('2'), 2000);
});

test('rejects malformed durations instead of guessing', () => {
  for (const bad of ['', 'abc', '10x', '5m oops', 's', '-1s']) assert.equal(parseDurationMs(bad), undefined, bad);
  assert.equal(durationMs.safeParse('10x').success, false);
  assert.equal(durationMs.parse(1.5), 1500);
});
