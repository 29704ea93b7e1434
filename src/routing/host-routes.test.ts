import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostName } from './host-routes.js';

test('hostName: the name routes match on, or undefined for what is not a host name', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['prom.example.com', 'prom.example.com'],
    ['Prom.Example.COM:8000', 'prom.example.com'],
    ['prom.example.com.', 'prom.example.com'],
    ['prom.example.com.:443', 'prom.example.com'],
    ['  prom  ', 'prom'],
    ['my_host-1', 'my_host-1'],
    ['127.0.0.1:9090', '127.0.0.1'],
    ['[::1]:8000', '::1'],
    ['[::1]', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:127.0.0.1'],
    [undefined, ''],
    ['', ''],
    ['user@prom.example.com', undefined],
    ['prom.example.com:80@evil', undefined],
    ['prom example', undefined],
    ['prom%2eexample', undefined],
    ['prom..example', undefined],
    ['.prom', undefined],
    ['prom.example.com..', undefined],
    ['prom:abc', undefined],
    ['prom:123456', undefined],
    ['[::1', undefined],
    ['[::1]x', undefined],
    ['[zz::1]', undefined],
    ['prom/evil', undefined],
  ];
  for (const [header, expected] of cases) assert.equal(hostName(header), expected, JSON.stringify(header));
});
