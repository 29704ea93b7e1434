import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64url } from 'jose';
import { isOwnJwt, peekJwt } from './jwt-verify.js';
import type { JwtOwnership } from './jwt-verify.js';

const jwt = (header: object, payload: object) =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.sig`;

const cases: { name: string; token: string; ownership: JwtOwnership; want: boolean }[] = [
  {
    name: 'issuer provider owns its iss',
    token: jwt({ alg: 'RS256' }, { iss: 'A' }),
    ownership: { family: 'asymmetric', issuer: 'A' },
    want: true,
  },
  {
    name: 'issuer provider owns its iss even with a foreign alg (refused later)',
    token: jwt({ alg: 'HS256' }, { iss: 'A' }),
    ownership: { family: 'asymmetric', issuer: 'A' },
    want: true,
  },
  {
    name: 'issuer provider leaves other issuers',
    token: jwt({ alg: 'RS256' }, { iss: 'B' }),
    ownership: { family: 'asymmetric', issuer: 'A' },
    want: false,
  },
  {
    name: 'issuer provider leaves tokens without iss',
    token: jwt({ alg: 'RS256' }, {}),
    ownership: { family: 'asymmetric', issuer: 'A' },
    want: false,
  },
  { name: 'issuer-less hmac leaves RS256', token: jwt({ alg: 'RS256' }, {}), ownership: { family: 'hmac' }, want: false },
  { name: 'issuer-less jwks leaves HS256', token: jwt({ alg: 'HS256' }, {}), ownership: { family: 'asymmetric' }, want: false },
  { name: 'issuer-less claims alg none (to refuse it)', token: jwt({ alg: 'none' }, {}), ownership: { family: 'hmac' }, want: true },
  {
    name: 'issuer-less leaves a configured foreign issuer',
    token: jwt({ alg: 'HS256' }, { iss: 'A' }),
    ownership: { family: 'hmac', foreignIssuers: new Set(['A']) },
    want: false,
  },
  { name: 'issuer-less claims an undecodable JWT (malformed_token)', token: 'abc.def.ghi', ownership: { family: 'hmac' }, want: true },
];

for (const c of cases) {
  test(`isOwnJwt: ${c.name}`, () => {
    const peeked = peekJwt(c.token);
    assert.ok(peeked);
    assert.equal(isOwnJwt(peeked, c.ownership), c.want);
  });
}

test('peekJwt: anything but three base64url parts is not a JWT', () => {
  for (const token of ['opaque', 'a.b', 'a.b.c.d', 'a b.c.d', 'a.b.c=']) assert.equal(peekJwt(token), undefined);
});
