import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { Unauthorized } from '../core/http-errors.js';
import { describePolicy } from '../policy/label-policy.js';
import { createBasicAuthenticator } from './basic-auth.js';
import type { BasicAuthOptions } from './basic-auth.js';
import type { Identity } from './identity.js';

const clock = { now: () => 1_700_000_000_000 };

async function withUsersFile(text: string, run: (file: string, logs: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-basic-'));
  const file = join(dir, 'users.yaml');
  await writeFile(file, text);
  const logs: string[] = [];
  try {
    await run(file, logs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function logger(lines: string[]) {
  return pino(
    {},
    new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
}

async function make(file: string, logs: string[], extra: Partial<BasicAuthOptions> = {}) {
  return createBasicAuthenticator({ usersFile: file, watch: false, clock, logger: logger(logs), ...extra });
}

const basic = (username: string, password: string) => ({ basic: { username, password } });

async function users(): Promise<string> {
  const hash = await bcrypt.hash('right', 4);
  return `users:
  - username: alice
    password: "${hash}"
    namespace: team-a
    tenant: acme
  - username: bob
    password: plain-pass
    namespaces: [dev, "stage-.*"]
    labels: { env: test }
  - username: carol
    password: plain-pass
    tenants: [t1, t2]
  - username: dave
    password: plain-pass
    selectors:
      - { namespace: a, env: prod }
      - { namespace: shared }
`;
}

test('a valid user becomes an identity with tenants and policy from the file', async () => {
  await withUsersFile(await users(), async (file, logs) => {
    const auth = await make(file, logs);
    const alice = await auth.authenticate(basic('alice', 'right'));
    assert.deepEqual(alice?.tenants, ['acme']);
    assert.equal(describePolicy(alice?.policy), 'namespace="team-a"');
    const bob = await auth.authenticate(basic('bob', 'plain-pass'));
    assert.deepEqual(bob?.tenants, ['bob'], 'tenant defaults to the username');
    assert.equal(describePolicy(bob?.policy), 'namespace=~"dev|stage-.*",env="test"');
    const carol = await auth.authenticate(basic('carol', 'plain-pass'));
    assert.deepEqual(carol?.tenants, ['t1', 't2']);
    assert.equal(carol?.policy, undefined);
    const dave = await auth.authenticate(basic('dave', 'plain-pass'));
    assert.equal(describePolicy(dave?.policy), '{namespace="a",env="prod"} or {namespace="shared"}');
    assert.equal(await auth.authenticate({}), undefined);
  });
});

test('default_tenant replaces the username as the tenant of entries without one', async () => {
  await withUsersFile(await users(), async (file, logs) => {
    const auth = await make(file, logs, { defaultTenant: 'shared' });
    assert.deepEqual((await auth.authenticate(basic('bob', 'plain-pass')))?.tenants, ['shared']);
  });
});

test('plaintext passwords are warned about once at load, without the password', async () => {
  await withUsersFile(await users(), async (file, logs) => {
    await make(file, logs);
    const warnings = logs.filter((l) => l.includes('plaintext'));
    assert.equal(warnings.length, 1);
    assert.ok(!warnings[0]?.includes('plain-pass'));
  });
});

test('a wrong password is invalid_credentials with a Basic challenge', async () => {
  await withUsersFile(await users(), async (file, logs) => {
    const auth = await make(file, logs);
    await assert.rejects(
      Promise.resolve(auth.authenticate(basic('alice', 'wrong'))),
      (error: unknown) =>
        error instanceof Unauthorized && error.code === 'invalid_credentials' && /^Basic /.test(error.headers['www-authenticate'] ?? ''),
    );
  });
});

test('reload: a changed file takes effect and drops cached logins; a broken file keeps the last good users', async () => {
  await withUsersFile(await users(), async (file, logs) => {
    const auth = await make(file, logs);
    assert.ok(await auth.authenticate(basic('bob', 'plain-pass')));
    await writeFile(file, 'users:\n  - username: bob\n    password: new-pass\n');
    assert.equal(await auth.reload(), true);
    assert.ok(await auth.authenticate(basic('bob', 'new-pass')));
    await assert.rejects(Promise.resolve(auth.authenticate(basic('bob', 'plain-pass'))), { code: 'invalid_credentials' });
    await writeFile(file, 'users:\n  - username: bob\n');
    assert.equal(await auth.reload(), false);
    assert.ok(await auth.authenticate(basic('bob', 'new-pass')));
    assert.ok(logs.some((l) => l.includes('keeping the last good users')));
  });
});

test('watch: editing the file is picked up without a restart', async () => {
  await withUsersFile(await users(), async (file, logs) => {
    const auth = await make(file, logs, { watch: true, debounceMs: 20 });
    try {
      await writeFile(file, 'users:\n  - username: dave\n    password: pw\n');
      const deadline = Date.now() + 10_000;
      let identity: Identity | undefined;
      while (identity === undefined && Date.now() < deadline) {
        identity = await Promise.resolve(auth.authenticate(basic('dave', 'pw'))).catch(() => undefined);
        if (identity === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(identity?.subject, 'dave');
    } finally {
      auth.close();
    }
  });
});

test('an invalid first file fails the start, naming the problem', async () => {
  await withUsersFile('users:\n  - username: "a|b"\n    password: x\n', async (file, logs) => {
    await assert.rejects(make(file, logs), /user "a\|b": invalid tenant id/);
  });
  await withUsersFile('users:\n  - {username: a, password: x}\n  - {username: a, password: y}\n', async (file, logs) => {
    await assert.rejects(make(file, logs), /duplicate username "a"/);
  });
});
