import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT,
  freePort,
  spawnPinned,
  startPortPrinter,
  stopChild,
  typescriptFlags,
  waitUntilReady,
  type BenchProcess,
  type Placement,
} from './processes.js';

/** The static tokens every proxy of the bench accepts: token → tenant. */
export type TokenMap = Readonly<Record<string, string>>;

/** Whether `command` is on PATH (nginx and go are optional: their rows are left out when missing). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The floor: node:http in, undici out, nothing else (bench/floor.ts). */
export function startFloor(placement: Placement, upstreamOrigin: string): Promise<BenchProcess> {
  return startPortPrinter(placement, process.execPath, [...typescriptFlags(), join(ROOT, 'bench/floor.ts'), upstreamOrigin]);
}

/**
 * The Go toolchain's environment for bench/go-peer: GOPATH mode over Debian's Go sources (golang-github-golang-snappy-dev,
 * golang-github-gogo-protobuf-dev under /usr/share/gocode), so nothing is downloaded.
 */
export function goPeerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'scopegate-bench-gocache'),
    GOFLAGS: '',
    GO111MODULE: 'off',
    GOPATH: '/usr/share/gocode',
  };
}

/** Builds bench/go-peer into `dir`; returns the binary's path. */
export function buildGoPeer(dir: string): string {
  const binary = join(dir, 'go-peer');
  execFileSync('go', ['build', '-o', binary, '.'], {
    cwd: join(ROOT, 'bench/go-peer'),
    env: goPeerEnv(),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return binary;
}

/**
 * The Go peer: httputil.ReverseProxy with a token map and the tenant header (bench/go-peer/main.go); a token of
 * `limited` has its remote writes checked against that namespace (bench/go-peer/write.go).
 */
export function startGoPeer(
  placement: Placement,
  binary: string,
  upstreamOrigin: string,
  tokens: TokenMap,
  limited: Readonly<Record<string, string>> = {},
): Promise<BenchProcess> {
  const map = Object.fromEntries(
    Object.entries(tokens).map(([token, tenant]) => [token, { tenant, ...(limited[token] ? { namespace: limited[token] } : {}) }]),
  );
  return startPortPrinter(placement, binary, ['-upstream', upstreamOrigin], {
    ...process.env,
    GOMAXPROCS: '1',
    SCOPEGATE_TOKENS: JSON.stringify(map),
  });
}

/**
 * nginx as an auth proxy: a `map` from the Authorization header to the tenant (401 when unknown), the tenant
 * header set, Authorization dropped, keep-alive upstream connections, the response streamed (no buffering
 * to disk), an access log line per request to /dev/null (as the gateway writes one). One process
 * (master_process off), so its CPU is one process's.
 */
export function nginxConfig(options: { dir: string; port: number; upstreamOrigin: string; tokens: TokenMap }): string {
  const entries = Object.entries(options.tokens).map(([token, tenant]) => `    "Bearer ${token}" ${tenant};`);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${options.dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log /dev/null;
  client_body_temp_path ${options.dir}/client_body;
  proxy_temp_path ${options.dir}/proxy;
  fastcgi_temp_path ${options.dir}/fastcgi;
  uwsgi_temp_path ${options.dir}/uwsgi;
  scgi_temp_path ${options.dir}/scgi;
  keepalive_requests 1000000;
  map $http_authorization $tenant {
    default "";
${entries.join('\n')}
  }
  upstream backend {
    server ${new URL(options.upstreamOrigin).host};
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${options.port};
    location / {
      if ($tenant = "") { return 401; }
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "";
      proxy_set_header X-Scope-OrgID $tenant;
      proxy_buffering off;
      proxy_buffer_size 64k;
      proxy_buffers 4 64k;
      proxy_busy_buffers_size 128k;
      proxy_request_buffering off;
    }
  }
}
`;
}

export async function startNginx(placement: Placement, upstreamOrigin: string, tokens: TokenMap): Promise<BenchProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-bench-nginx-'));
  const port = await freePort();
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, nginxConfig({ dir, port, upstreamOrigin, tokens }));
  // -e: nginx opens its default error log before reading the config; keep that in the temp dir too.
  const child = spawnPinned(placement, 'nginx', ['-p', dir, '-e', 'stderr', '-c', configPath], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(origin, child, { headers: { authorization: `Bearer ${Object.keys(tokens)[0]}` } });
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid as number, origin, stop };
}
