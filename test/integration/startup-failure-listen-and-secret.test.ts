import { test } from 'node:test';
import { createServer, type AddressInfo } from 'node:net';
import { assertEachFailsToStart, createScratchDir, minimalToml } from '../servers/serve-once.js';

// Issue #10: start-up failures printed a Node stack trace. Each is one line on stderr naming the key or the
// address and what to do, and exit 1, through the real binary (two per file: each spawn is a whole gateway).

test('serve: a busy port and a short HMAC secret are one line each, exit 1, no stack trace', { timeout: 120_000 }, async (t) => {
  const scratch = await createScratchDir();
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    await scratch.remove();
  });
  const busyPort = (busy.address() as AddressInfo).port;
  const tokens = await scratch.file('tokens.json', JSON.stringify({ 'tok-a': 'team-a' }));
  await assertEachFailsToStart([
    {
      name: 'port in use',
      configPath: await scratch.file('busy.toml', minimalToml({ tokens, listen: `127.0.0.1:${busyPort}` })),
      want: new RegExp(`proxy\\.listen: cannot listen on 127\\.0\\.0\\.1:${busyPort}: EADDRINUSE: .*choose another port`),
    },
    {
      name: 'short HMAC secret',
      configPath: await scratch.file('hmac.toml', minimalToml({ tokens, extra: '[auth.hmac_jwt]\nsecret = "too-short"' })),
      want: /auth\.hmac_jwt\.secret: the secret is 9 bytes; HS256 needs at least 32 .*openssl rand/,
    },
  ]);
});
