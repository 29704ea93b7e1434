import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { hash as argon2Hash } from '@node-rs/argon2';
import { classifyPassword, createDummyPassword, verifyPassword } from './password-hash.js';

test('bcrypt ($2a$/$2b$/$2y$), argon2id and plaintext passwords verify, wrong ones do not', async () => {
  const b = await bcrypt.hash('s3cret', 4);
  for (const prefix of ['$2a$', '$2b$', '$2y$']) {
    const stored = classifyPassword(prefix + b.slice(4));
    assert.equal(stored.kind, 'bcrypt');
    assert.equal(await verifyPassword(stored, 's3cret'), true);
    assert.equal(await verifyPassword(stored, 's3cret!'), false);
  }
  const a = classifyPassword(await argon2Hash('s3cret'));
  assert.equal(a.kind, 'argon2');
  assert.equal(await verifyPassword(a, 's3cret'), true);
  assert.equal(await verifyPassword(a, 'nope'), false);
  const p = classifyPassword('s3cret');
  assert.equal(p.kind, 'plaintext');
  assert.equal(await verifyPassword(p, 's3cret'), true);
  assert.equal(await verifyPassword(p, 's3cre'), false);
});

test("the dummy password has the cost of the file's hashes and matches nothing", async () => {
  const bcryptDummy = await createDummyPassword([classifyPassword('plain'), classifyPassword(await bcrypt.hash('x', 5))]);
  assert.equal(bcryptDummy.kind, 'bcrypt');
  assert.equal(bcryptDummy.value.slice(0, 7), '$2b$05$');
  assert.equal(await verifyPassword(bcryptDummy, ''), false);
  const argonDummy = await createDummyPassword([classifyPassword(await argon2Hash('x', { memoryCost: 8192, timeCost: 3 }))]);
  assert.match(argonDummy.value, /^\$argon2id\$v=19\$m=8192,t=3,p=1\$/);
  assert.equal((await createDummyPassword([classifyPassword('plain')])).kind, 'plaintext');
});
