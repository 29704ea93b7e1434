import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, Preset } from './endpoint.js';
import { compileEndpointTable } from './endpoint-table.js';
import { presetFor } from './presets/index.js';
import { UPSTREAM_TYPES } from '../config/sections/core.js';

const preset = (endpoints: Endpoint[]): Preset => ({ type: 'test', components: [], writesByDefault: false, endpoints });
const row = (name: string, methods: string[], path: string | RegExp): Endpoint => ({ name, methods, path, scope: 'read' });

test('a table with two rows for the same path and method is refused when compiled, naming both rows', () => {
  assert.throws(
    () => compileEndpointTable(preset([row('a', ['GET'], '/x'), row('b', ['POST', 'GET'], '/x')])),
    /rows a and b both serve GET \/x/,
  );
  assert.throws(() => compileEndpointTable(preset([row('a', ['GET'], /^\/x\/[^/]+$/), row('b', ['GET'], /^\/x\/[^/]+$/)])), /rows a and b/);
});

test('the same path with other methods, or another pattern, is not a duplicate', () => {
  const table = compileEndpointTable(
    preset([row('get', ['GET'], '/x'), row('post', ['POST'], '/x'), row('i', ['GET'], /^\/x$/i), row('p', ['GET'], /^\/x$/)]),
  );
  assert.equal(table.match('POST', '/x').name, 'post');
  assert.equal(table.match('GET', '/x').name, 'get');
});

test('every built-in preset compiles (none has a duplicate row)', () => {
  for (const type of UPSTREAM_TYPES) assert.doesNotThrow(() => compileEndpointTable(presetFor(type)), type);
});
