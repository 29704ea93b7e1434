import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { createBasicAuthenticator } from '../../src/identity/basic-auth.js';
import { HttpError } from '../../src/core/http-errors.js';

// User enumeration: the answer to an unknown user must be indistinguishable from a wrong password.
async function refusal(promise: unknown): Promise<{ status: number; code: string; message: string; headers: unknown }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return { status: error.status, code: error.code, message: error.message, headers: error.headers };
  }
  assert.fail('expected a refusal');
}

test('unknown user and wrong password get identical refusals that leak neither name nor password', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-enum-'));
  try {
    const file = join(dir, 'users.yaml');
    await writeFile(file, `users:\n  - username: alice\n    password: "${await bcrypt.hash('right', 4)}"\n    namespace: a\n`);
    const auth = await createBasicAuthenticator({
      usersFile: file,
      watch: false,
      clock: { now: () => 0 },
      logger: pino({ level: 'silent' }),
    });
    const wrongPassword = await refusal(auth.authenticate({ basic: { username: 'alice', password: 'guess-1' } }));
    const unknownUser = await refusal(auth.authenticate({ basic: { username: 'mallory', password: 'guess-1' } }));
    assert.deepEqual(unknownUser, wrongPassword);
    assert.equal(wrongPassword.status, 401);
    for (const secret of ['alice', 'mallory', 'guess-1']) assert.ok(!JSON.stringify(wrongPassword).includes(secret));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
