import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicaliseQuery, encodeRfc3986, partitionHeaders } from './sigv4-canonical.js';

test('encodeRfc3986 keeps only unreserved characters, space as %20', () => {
  assert.equal(encodeRfc3986(`a b+c!'()*~-_.{}"=`), 'a%20b%2Bc%21%27%28%29%2A~-_.%7B%7D%22%3D');
});

test('canonicaliseQuery keeps pair order and repeated keys, reads + as a space', () => {
  const { url, query } = canonicaliseQuery(new URL('http://h/p?match[]=b&q=a+b%2Bc&match[]=a&flag'));
  assert.equal(url.search, '?match%5B%5D=b&q=a%20b%2Bc&match%5B%5D=a&flag=');
  assert.deepEqual(query, { 'match[]': ['b', 'a'], q: 'a b+c', flag: '' });
});

test('partitionHeaders: hop-by-hop, Connection-listed and proxy-appended headers go unsigned; our auth headers are dropped', () => {
  const { signed, passed } = partitionHeaders({
    connection: 'x-hop',
    'x-hop': '1',
    'content-type': 'application/json',
    'x-scope-orgid': 'a',
    'x-forwarded-for': '10.0.0.1',
    'user-agent': 'ua',
    'content-length': '3',
    host: 'client.example',
    authorization: 'Bearer client',
    'x-amz-date': '20000101T000000Z',
  });
  assert.deepEqual(signed, { 'content-type': 'application/json', 'x-scope-orgid': 'a' });
  assert.deepEqual(passed, { connection: 'x-hop', 'x-hop': '1', 'x-forwarded-for': '10.0.0.1', 'user-agent': 'ua', 'content-length': '3' });
});
