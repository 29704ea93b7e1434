import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Writable } from 'node:stream';
import { buildLabelPolicy } from '../policy/label-policy.js';
import { createFixedTenantAuthenticator } from './fixed-tenant.js';

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({}, stream), lines };
}

test('every request, with or without credentials, gets the fixed tenant and policy', async () => {
  const { logger } = captureLogger();
  const policy = buildLabelPolicy({ values: ['prod'] });
  const auth = createFixedTenantAuthenticator({ tenant: 'shared', policy, logger });
  for (const credentials of [{}, { basic: { username: 'x', password: 'y' } }]) {
    const identity = await auth.authenticate(credentials);
    assert.deepEqual(identity?.tenants, ['shared']);
    assert.equal(identity?.policy, policy);
  }
});

test('starting it logs a warning, so an open gateway is never silent', () => {
  const { logger, lines } = captureLogger();
  createFixedTenantAuthenticator({ tenant: 'shared', policy: undefined, logger });
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0] ?? '{}') as { level: number; msg: string };
  assert.equal(line.level, 40);
  assert.match(line.msg, /without credentials/);
});

test('an invalid tenant is refused at start', () => {
  const { logger } = captureLogger();
  assert.throws(() => createFixedTenantAuthenticator({ tenant: 'a|b', policy: undefined, logger }), /invalid tenant/);
});
