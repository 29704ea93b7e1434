import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import module from 'node:module';

// Issue #12 (RSS per worker): the AWS SDK, smithy's SigV4 signer and jose are imported only by a configuration
// that uses them (an upstream with `sign`, `backend_type = "secretsmanager"`, a JWT/JWKS/OIDC authenticator).
// Each case starts a gateway in a fresh process, as `serve` builds it, and lists the packages it resolved.

/** Packages only some configurations need; none of them may load for a gateway that does not use them. */
const OPTIONAL = [
  'jose',
  '@smithy/signature-v4',
  '@aws-sdk/credential-providers',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-secrets-manager',
];

// The child records every resolution (module.registerHooks: synchronous, in-thread) before it imports the app.
const CHILD = `
import { registerHooks } from 'node:module';
const packages = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    const match = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);
    if (match) packages.add(match[1]);
    return result;
  },
});
const { startTestGateway } = await import(${JSON.stringify(new URL('../servers/gateway.ts', import.meta.url).href)});
const gateway = await startTestGateway(JSON.parse(process.env.LAZY_TEST_CONFIG));
await gateway.stop();
process.stdout.write(JSON.stringify([...packages].sort()));
`;

function packagesLoadedBy(config: Record<string, unknown>): Promise<string[]> {
  const env = { ...process.env, LAZY_TEST_CONFIG: JSON.stringify(config), SCOPEGATE_TOKENS: JSON.stringify({ 'tok-a': 'tenant-a' }) };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`child failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as string[]);
    });
  });
}

// module.registerHooks came with Node 22.15 and 23.5.
const skip = typeof module.registerHooks === 'function' ? false : 'module.registerHooks needs Node 22.15 or later';

const PLAIN_UPSTREAMS = [
  { match: '.*', upstream: 'http://127.0.0.1:9', type: 'raw' },
  { match: 'prom\\.example', upstream: 'http://127.0.0.1:9', type: 'prometheus', priority: 10 },
];

test('a gateway of static tokens and raw/prometheus upstreams loads neither the AWS SDK, smithy nor jose', { skip }, async () => {
  const loaded = await packagesLoadedBy({ backend_type: 'env', proxy: { upstreams: PLAIN_UPSTREAMS } });
  assert.ok(loaded.includes('undici'), `the hook saw the packages the gateway loads: ${loaded.join(' ')}`);
  assert.deepEqual(
    OPTIONAL.filter((name) => loaded.includes(name)),
    [],
  );
});

test('a JWT authenticator loads jose; an upstream signed with static keys loads smithy, not the AWS SDK clients', { skip }, async () => {
  const loaded = await packagesLoadedBy({
    backend_type: 'env',
    auth: { order: ['static', 'hmac_jwt'], hmac_jwt: { secret: 'a-secret-of-at-least-thirty-two-bytes!!' } },
    proxy: {
      upstreams: [
        ...PLAIN_UPSTREAMS,
        {
          match: 'amp\\.example',
          upstream: 'http://127.0.0.1:9',
          type: 'prometheus',
          priority: 20,
          sign: {
            service: 'aps',
            region: 'eu-west-1',
            credentials: { type: 'static', access_key_id: 'AKIDEXAMPLE', secret_access_key: 'secret' },
          },
        },
      ],
    },
  });
  assert.deepEqual(
    OPTIONAL.filter((name) => loaded.includes(name)),
    ['jose', '@smithy/signature-v4'],
  );
});
