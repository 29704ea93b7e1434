import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetadata } from './oidc-discovery.js';

test('metadata whose issuer differs from the configured one is refused (OIDC Discovery §4.3)', () => {
  assert.throws(
    () => parseMetadata({ issuer: 'https://evil.example', jwks_uri: 'https://evil.example/jwks' }, 'https://idp.example'),
    /not the configured issuer/,
  );
  assert.throws(
    () => parseMetadata({ issuer: 'https://idp.example/', jwks_uri: 'https://idp.example/jwks' }, 'https://idp.example'),
    /not the configured issuer/,
  );
});

test('metadata without a usable jwks_uri is refused; a good one yields the jwks_uri', () => {
  assert.throws(() => parseMetadata({ issuer: 'https://idp.example' }, 'https://idp.example'), /jwks_uri/);
  assert.deepEqual(parseMetadata({ issuer: 'https://idp.example', jwks_uri: 'https://idp.example/certs' }, 'https://idp.example'), {
    issuer: 'https://idp.example',
    jwksUri: 'https://idp.example/certs',
  });
});
