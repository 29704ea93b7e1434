import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProxyRequest } from '../routing/endpoint.js';
import { UnsupportedInput } from './errors.js';
import { readRequestParams, writeRequestParams } from './params.js';

const FORM = 'application/x-www-form-urlencoded';

function multipart(boundary: string, parts: { name: string; value: string; filename?: string }[]): Buffer {
  const chunks = parts.map((p) => {
    const file = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    return `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${file}\r\n\r\n${p.value}\r\n`;
  });
  return Buffer.from(`${chunks.join('')}--${boundary}--\r\n`);
}

describe('readRequestParams', () => {
  it('reads every URL occurrence of a GET, in order, and ignores a GET body', async () => {
    const params = await readRequestParams({
      method: 'GET',
      query: 'query=a&query=b&time=1',
      headers: { 'content-type': FORM },
      body: Buffer.from('query=hidden'),
    });
    assert.deepEqual(params, [
      ['query', 'a'],
      ['query', 'b'],
      ['time', '1'],
    ]);
  });

  it('reads the form body before the URL, as Go FormValue does', async () => {
    const params = await readRequestParams({
      method: 'POST',
      query: 'query=from_url',
      headers: { 'content-type': FORM },
      body: Buffer.from('query=from_body&query=second'),
    });
    assert.deepEqual(params, [
      ['query', 'from_body'],
      ['query', 'second'],
      ['query', 'from_url'],
    ]);
  });

  it('decodes percent-encoded keys and values (%71uery is query)', async () => {
    const params = await readRequestParams({ method: 'POST', query: '%71uery=x%7Ba%3D%22b%22%7D', headers: {}, body: undefined });
    assert.deepEqual(params, [['query', 'x{a="b"}']]);
  });

  it('matches the media type case-insensitively, with parameters', async () => {
    const params = await readRequestParams({
      method: 'POST',
      query: '',
      headers: { 'content-type': 'Application/X-WWW-Form-URLEncoded; charset=UTF-8' },
      body: Buffer.from('query=up'),
    });
    assert.deepEqual(params, [['query', 'up']]);
  });

  it('reads the fields of a multipart body and ignores file parts', async () => {
    const body = multipart('XyZ', [
      { name: 'query', value: 'up' },
      { name: 'query', value: 'secret', filename: 'q.txt' },
      { name: 'match[]', value: '{a="b"}' },
    ]);
    const params = await readRequestParams({
      method: 'POST',
      query: 'query=late',
      headers: { 'content-type': 'Multipart/Form-Data; boundary=XyZ' },
      body,
    });
    assert.deepEqual(params, [
      ['query', 'up'],
      ['match[]', '{a="b"}'],
      ['query', 'late'],
    ]);
  });

  const refused: [string, Record<string, string>][] = [
    ['text/plain', { 'content-type': 'text/plain' }],
    ['json', { 'content-type': 'application/json' }],
    ['no content type', {}],
    ['gzip-encoded form', { 'content-type': FORM, 'content-encoding': 'gzip' }],
  ];
  for (const [name, headers] of refused) {
    it(`refuses a body sent as ${name}`, async () => {
      await assert.rejects(
        readRequestParams({ method: 'POST', query: '', headers, body: Buffer.from('query=up') }),
        (err: unknown) => err instanceof UnsupportedInput && err.mediaType,
      );
    });
  }

  it('refuses a malformed multipart body', async () => {
    await assert.rejects(
      readRequestParams({
        method: 'POST',
        query: '',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
        body: Buffer.from('junk'),
      }),
      UnsupportedInput,
    );
  });
});

describe('writeRequestParams', () => {
  function request(method: string): ProxyRequest {
    return {
      method,
      path: '/api/v1/query',
      query: 'query=old',
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': '99', 'content-encoding': 'identity' },
      body: Buffer.from('old'),
    };
  }

  it('moves every parameter of a POST into one urlencoded body', () => {
    const req = request('POST');
    writeRequestParams(req, [
      ['query', 'up{a="b c"}'],
      ['time', '1'],
    ]);
    assert.equal(req.query, '');
    assert.equal(req.body?.toString(), 'query=up%7Ba%3D%22b+c%22%7D&time=1');
    assert.equal(req.headers['content-type'], FORM);
    assert.equal(req.headers['content-length'], String(req.body?.length));
    assert.equal(req.headers['content-encoding'], undefined);
    assert.deepEqual(
      [...new URLSearchParams(req.body?.toString())],
      [
        ['query', 'up{a="b c"}'],
        ['time', '1'],
      ],
    );
  });

  it('puts the parameters of a GET in the URL and drops the body', () => {
    const req = request('GET');
    writeRequestParams(req, [
      ['match[]', 'up'],
      ['match[]', 'x'],
    ]);
    assert.equal(req.query, 'match%5B%5D=up&match%5B%5D=x');
    assert.equal(req.body, undefined);
    assert.equal(req.headers['content-type'], undefined);
    assert.equal(req.headers['content-length'], undefined);
  });
});
