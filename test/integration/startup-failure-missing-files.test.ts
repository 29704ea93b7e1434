import { test } from 'node:test';
import { join } from 'node:path';
import { assertEachFailsToStart, createScratchDir, minimalToml } from '../servers/serve-once.js';

// Issue #10: start-up failures printed a Node stack trace. A missing users_file, and a token file whose folder
// (watched) does not exist, are one line on stderr naming the key, the path and what to do, and exit 1.

test('serve: a missing users_file and a token file in a missing folder are one line each, exit 1, no stack trace', {
  timeout: 120_000,
}, async (t) => {
  const scratch = await createScratchDir();
  t.after(() => scratch.remove());
  const tokens = await scratch.file('tokens.json', JSON.stringify({ 'tok-a': 'team-a' }));
  await assertEachFailsToStart([
    {
      name: 'missing users_file',
      configPath: await scratch.file(
        'basic.toml',
        minimalToml({ tokens, extra: `[auth.basic]\nusers_file = ${JSON.stringify(join(scratch.dir, 'absent-users.yaml'))}` }),
      ),
      want: /auth\.basic\.users_file: .*absent-users\.yaml: cannot read \(ENOENT: no such file: check the path\)/,
    },
    {
      name: 'token file in a missing folder (watched)',
      configPath: await scratch.file('nodir.toml', minimalToml({ tokens: join(scratch.dir, 'no-such-folder', 'tokens.json') })),
      want: /file\.path: .*no-such-folder\/tokens\.json: cannot watch its folder .*create the folder, or set file\.watch = false/,
    },
  ]);
});
