import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayFixture } from '../servers/gateway-fixture.js';
import { createAuthFiles, type AuthFiles, type TestUser } from '../servers/auth-files.js';
import { sendRaw } from '../servers/http-client.js';

// Issue #4: the basic-auth users file is reloaded when it changes, without a restart; a broken file is
// logged and the last good users stay. The tests wait for the gateway's own log line of each reload
// (fs.watch + debounce), never for a fixed time. The verified-password cache is off, so every request
// checks the users the gateway currently holds.
const ALICE: TestUser = { username: 'alice', password: 'alice-password', tenant: 'tenant-a' };
const BOB: TestUser = { username: 'bob', password: 'bob-password', tenant: 'tenant-b' };
const RELOADED = 'users file reloaded';
const REJECTED = 'users file is invalid; keeping the last good users';

let files: AuthFiles;

const fixture = gatewayFixture({
  before: async (cleanup) => {
    files = await createAuthFiles({ users: [ALICE] });
    cleanup.after(() => files.remove());
  },
  config: (upstream) => ({
    auth: { order: ['basic'], basic: { users_file: files.usersPath, watch: true, cache_ttl: '0s' } },
    proxy: { upstreams: [{ name: 'raw', match: '.*', upstream }] },
  }),
});

/** Status of a request as `user`, and the tenant the upstream saw when it got through. */
async function as(user: TestUser): Promise<{ status: number; tenant?: unknown }> {
  fixture.upstream.reset();
  const authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  const res = await sendRaw(fixture.gateway.url, { path: '/api/v1/labels', headers: { authorization } });
  return res.status === 200 ? { status: 200, tenant: fixture.upstream.requests[0]?.headers['x-scope-orgid'] } : { status: res.status };
}

/** Runs `change`, then waits until the gateway logs `message` once more than before. */
async function changeAndWaitForLog(message: string, change: () => Promise<void>): Promise<void> {
  const count = () => fixture.gateway.logs.filter((line) => line.msg === message).length;
  const before = count();
  await change();
  const deadline = Date.now() + 15_000;
  while (count() === before) {
    if (Date.now() > deadline) throw new Error(`the gateway never logged "${message}"`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('a user added to the file works without a restart; a broken file keeps the last good users', async () => {
  assert.deepEqual(await as(ALICE), { status: 200, tenant: 'tenant-a' });
  assert.deepEqual(await as(BOB), { status: 401 });

  await changeAndWaitForLog(RELOADED, () => files.writeUsers([ALICE, BOB]));
  assert.deepEqual(await as(BOB), { status: 200, tenant: 'tenant-b' });

  await changeAndWaitForLog(REJECTED, () => files.writeUsersText('users:\n  - username: carol\n    password: [not, a, string\n'));
  assert.deepEqual(await as(ALICE), { status: 200, tenant: 'tenant-a' }, 'last good users kept');
  assert.deepEqual(await as(BOB), { status: 200, tenant: 'tenant-b' }, 'last good users kept');

  // Reloading goes on after a broken file: removing alice takes effect.
  await changeAndWaitForLog(RELOADED, () => files.writeUsers([BOB]));
  assert.deepEqual(await as(ALICE), { status: 401 });
  assert.deepEqual(await as(BOB), { status: 200, tenant: 'tenant-b' });
});
