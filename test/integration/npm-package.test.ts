import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../servers/free-port.js';
import { makeTempDir, startManagedProcess } from '../servers/managed-process.js';
import { startRecordingUpstream } from '../servers/recording-upstream.js';

// Issue #13: what `npm pack` ships is what a user installs and runs. The tarball is packed from a copy of the
// project (so `prepack`'s build never rewrites the dist/ that other tests run), installed into an empty folder
// with --omit=dev from the npm registry (the cache first), and run there: --version, check-config on the
// packaged example, and serve until /ready answers and a query goes through. Nothing of the dev dependencies
// (tsx, typescript) is installed, so a bin that needed them, or a tarball without dist/, fails here.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What the project copy needs to pack: the build inputs and the files the package lists. */
const PROJECT_FILES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'README.md',
  'docs',
  'LICENSE',
  'CHANGELOG.md',
  'bin',
  'src',
  'examples',
  'test',
];
const SLOW_MS = 15 * 60_000; // packing and installing from the registry, on a loaded machine

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

test('npm pack ships dist/, bin/, docs and examples only; installed with --omit=dev it runs without any dev dependency', {
  timeout: SLOW_MS,
}, async (t) => {
  const dir = await makeTempDir('npm-package');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const project = join(dir, 'project');
  await mkdir(project);
  for (const name of PROJECT_FILES) await cp(join(ROOT, name), join(project, name), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'));
  // npm scripts (prepack's build) on the project's Node, as `npm test` runs.
  const npmEnv = { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };

  const packed = await run('npm', ['pack', '--pack-destination', dir], project, npmEnv);
  assert.equal(packed.code, 0, packed.stderr);
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const tarball = join(dir, `scopegate-${version}.tgz`);
  const listing = await run('tar', ['-tzf', tarball], dir);
  const files = listing.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^package\//, ''));
  for (const expected of [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'docs/configuration.md',
    'docs/errors.md',
    'bin/scopegate.js',
    'dist/cli/main.js',
    'dist/app.js',
    'examples/container.toml',
  ]) {
    assert.ok(files.includes(expected), `${expected} is not in the tarball`);
  }
  const unwanted = files.filter((file) => /^(test|src|bench|scripts|deploy)\/|\.test\.|\.ts$|\.map$|tsconfig/.test(file));
  assert.deepEqual(unwanted, [], 'tests, sources or build files in the tarball');

  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), '{ "name": "scopegate-install-check", "private": true }\n');
  const installed = await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  assert.equal(installed.code, 0, installed.stderr);
  for (const devOnly of ['tsx', 'typescript', 'node', 'fast-check']) {
    assert.equal(existsSync(join(app, 'node_modules', devOnly)), false, `dev dependency ${devOnly} was installed`);
  }
  const bin = join(app, 'node_modules', '.bin', 'scopegate');

  const versionRun = await run(process.execPath, [bin, '--version'], app);
  assert.deepEqual(versionRun, { code: 0, stdout: `${version}\n`, stderr: '' });

  const example = join(app, 'node_modules', 'scopegate', 'examples', 'container.toml');
  const checked = await run(process.execPath, [bin, 'check-config', '--config', example], app);
  assert.equal(checked.code, 0, checked.stderr);
  assert.equal(checked.stdout, `config ok: ${example}\n`);

  const upstream = await startRecordingUpstream();
  t.after(() => upstream.stop());
  const [proxyPort, adminPort] = [await findFreePort(), await findFreePort()];
  const serveDir = await makeTempDir('npm-package-serve');
  await writeFile(join(serveDir, 'tokens.json'), JSON.stringify({ 'tok-a': { tenant: 'team-a', namespaces: ['team-a'] } }));
  await writeFile(
    join(serveDir, 'config.toml'),
    `backend_type = "file"
[file]
path = "${join(serveDir, 'tokens.json')}"
[proxy]
listen = "127.0.0.1:${proxyPort}"
shutdown_timeout = "2s"
[[proxy.upstreams]]
match = ".*"
upstream = "${upstream.url}"
type = "prometheus"
[admin]
listen = "127.0.0.1:${adminPort}"
`,
  );
  const gateway = startManagedProcess(process.execPath, [bin, 'serve', '--config', join(serveDir, 'config.toml')], serveDir);
  t.after(() => gateway.stop());
  await gateway.waitUntilOk(`http://127.0.0.1:${adminPort}/ready`, SLOW_MS);
  const response = await fetch(`http://127.0.0.1:${proxyPort}/api/v1/query?query=up`, { headers: { authorization: 'Bearer tok-a' } });
  assert.equal(response.status, 200, await response.text());
  assert.equal(upstream.requests.length, 1);
  assert.match(decodeURIComponent(upstream.requests[0]?.url ?? ''), /namespace="team-a"/);
});
