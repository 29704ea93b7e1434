import { test } from 'node:test';
import { join } from 'node:path';
import { assertEachFailsToStart, createScratchDir, minimalToml } from '../servers/serve-once.js';

// Issue #10: start-up failures printed a Node stack trace. An unreadable TLS file and a bad ACL are one line on
// stderr naming the key and the file, and exit 1.

test('serve: an unreadable TLS file and a bad ACL are one line each, exit 1, no stack trace', { timeout: 120_000 }, async (t) => {
  const scratch = await createScratchDir();
  t.after(() => scratch.remove());
  const tokens = await scratch.file('tokens.json', JSON.stringify({ 'tok-a': 'team-a' }));
  const notPem = await scratch.file('not-a-key.pem', 'hello\n');
  await assertEachFailsToStart([
    {
      name: 'unreadable TLS certificate',
      configPath: await scratch.file(
        'tls.toml',
        minimalToml({
          tokens,
          extra: `[proxy.tls]\ncert_file = ${JSON.stringify(join(scratch.dir, 'absent.pem'))}\nkey_file = ${JSON.stringify(notPem)}`,
        }),
      ),
      want: /proxy\.tls\.cert_file: .*absent\.pem: cannot read \(ENOENT/,
    },
    {
      name: 'bad ACL',
      configPath: await scratch.file(
        'acl.toml',
        minimalToml({ tokens, extra: `[acl]\nfile = ${JSON.stringify(await scratch.file('acl.yaml', '- not\n- a map\n'))}` }),
      ),
      want: /acl\.file: .*acl\.yaml: ACL must be a map of role: values/,
    },
  ]);
});
