import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/**
 * A Grafana stand-in for the tests, written from what Grafana's public source says it does (issue #20):
 * - `X-Grafana-Id` tokens: ES256 (P-256) with `kid` `id-YYYY-MM-es256`, `typ: "jwt"`, `iss` = root_url with its
 *   trailing slash, `aud` = `org:<id>` as a plain string, `sub` = `<type>:<id>`, `exp` = `iat` + 10 min, no
 *   `nbf`/`jti`, optional `type`/`username`/… claims;
 * - `GET /api/signing-keys/keys`: unauthenticated JWKS of the keys not yet retired, with `Cache-Control` as the
 *   test sets it (Grafana's handler writes `public, max-age=3600`; a global middleware may write `no-store`);
 *   a new key each month (`rotate`), a key regenerated under the same kid (`regenerate`);
 * - `GET /api/teams/search?perpage=&page=` (paginated; `memberCount` per team; `id: 0` with only a uid when
 *   `uidOnly`) and `GET /api/teams/:id/members` (its `userId`; an empty list without `org.users:read`), both
 *   needing the service-account token;
 * - `down()`: every connection is destroyed (unreachable), `up()` serves again.
 */
export interface GrafanaTeamFixture {
  readonly id: number;
  readonly uid: string;
  readonly name: string;
  members: number[];
}

export interface GrafanaKey {
  readonly kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface SignOptions {
  /** Claims to set or override (`undefined` removes one). */
  readonly claims?: Record<string, unknown>;
  /** Header fields to set or override (`undefined` removes one). */
  readonly header?: Record<string, unknown>;
  /** The key to sign with; default the newest. */
  readonly key?: GrafanaKey;
}

export interface GrafanaStandIn {
  /** root_url, with its trailing slash (as Grafana's `iss`). */
  readonly url: string;
  readonly apiToken: string;
  readonly keys: GrafanaKey[];
  readonly teams: GrafanaTeamFixture[];
  /** Requests per path (no query). */
  readonly requests: Map<string, number>;
  /** The JWKS response's Cache-Control; `undefined`: none. */
  cacheControl: string | undefined;
  /** Without `org.users:read`: members lists come back empty (as Grafana answers). */
  usersRead: boolean;
  /** Teams listed with `id: 0` and only their uid. */
  uidOnly: boolean;
  sign(options?: SignOptions): Promise<string>;
  /** A new month's key, published beside the others; it signs from now on. */
  rotate(month: string): Promise<GrafanaKey>;
  /** A new key pair under an existing kid (the old public key is no longer published). */
  regenerate(key: GrafanaKey): Promise<void>;
  /** Retires a key: no longer published. */
  retire(key: GrafanaKey): void;
  down(): void;
  up(): void;
  stop(): Promise<void>;
}

export async function newKey(kid: string): Promise<GrafanaKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** Claims of a token Grafana would sign for `sub`, at `nowSeconds`. */
export function grafanaClaims(url: string, nowSeconds: number, sub = 'user:7', org = 1): Record<string, unknown> {
  const [type] = sub.split(':');
  return {
    iss: url,
    aud: `org:${org}`,
    sub,
    iat: nowSeconds,
    exp: nowSeconds + 600,
    type,
    namespace: 'default',
    authenticatedBy: 'password',
    username: `login-${sub}`,
  };
}

export async function startGrafana(options: {
  nowSeconds: () => number;
  teams?: GrafanaTeamFixture[];
  subPath?: string;
}): Promise<GrafanaStandIn> {
  const apiToken = 'glsa_teams_reader_token';
  const keys: GrafanaKey[] = [await newKey('id-2026-12-es256')];
  const teams = options.teams ?? [];
  const requests = new Map<string, number>();
  const sockets = new Set<Socket>();
  const prefix = options.subPath ?? '/';
  let isDown = false;

  const state = { cacheControl: 'public, max-age=3600' as string | undefined, usersRead: true, uidOnly: false };
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const authorised = (req: IncomingMessage) => req.headers.authorization === `Bearer ${apiToken}`;

  const server = createServer((req, res) => {
    if (isDown) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://grafana');
    requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length - 1) : '';
    if (path === '/api/signing-keys/keys') {
      return json(
        res,
        200,
        { keys: keys.map((k) => k.publicJwk) },
        state.cacheControl !== undefined ? { 'cache-control': state.cacheControl } : {},
      );
    }
    if (!authorised(req)) return json(res, 401, { message: 'Unauthorized' });
    if (path === '/api/teams/search') {
      const perPage = Number(url.searchParams.get('perpage') ?? '1000');
      const page = Number(url.searchParams.get('page') ?? '1');
      const slice = teams.slice((page - 1) * perPage, page * perPage);
      return json(res, 200, {
        totalCount: teams.length,
        page,
        perPage,
        teams: slice.map((t) => ({
          id: state.uidOnly ? 0 : t.id,
          uid: t.uid,
          orgId: 1,
          name: t.name,
          email: '',
          avatarUrl: '',
          memberCount: t.members.length,
          permission: 0,
        })),
      });
    }
    const members = /^\/api\/teams\/([^/]+)\/members$/.exec(path);
    if (members !== null) {
      const ref = decodeURIComponent(members[1] as string);
      const team = teams.find((t) => String(t.id) === ref || t.uid === ref);
      if (team === undefined) return json(res, 404, { message: 'Team not found' });
      const list = state.usersRead
        ? team.members.map((userId) => ({
            orgId: 1,
            teamId: team.id,
            teamUID: team.uid,
            userId,
            login: `u${userId}`,
            email: '',
            name: '',
            permission: 0,
          }))
        : [];
      return json(res, 200, list);
    }
    json(res, 404, { message: 'Not found' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}${prefix}`;

  return {
    url,
    apiToken,
    keys,
    teams,
    requests,
    get cacheControl() {
      return state.cacheControl;
    },
    set cacheControl(value) {
      state.cacheControl = value;
    },
    get usersRead() {
      return state.usersRead;
    },
    set usersRead(value) {
      state.usersRead = value;
    },
    get uidOnly() {
      return state.uidOnly;
    },
    set uidOnly(value) {
      state.uidOnly = value;
    },
    async sign(signOptions = {}) {
      const key = signOptions.key ?? (keys.at(-1) as GrafanaKey);
      const claims = withOverrides(grafanaClaims(url, options.nowSeconds()), signOptions.claims);
      const header = withOverrides({ alg: 'ES256', kid: key.kid, typ: 'jwt' }, signOptions.header);
      return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
    },
    async rotate(month) {
      const key = await newKey(`id-${month}-es256`);
      keys.push(key);
      return key;
    },
    async regenerate(key) {
      const fresh = await newKey(key.kid);
      key.privateKey = fresh.privateKey;
      key.publicKey = fresh.publicKey;
      key.publicJwk = fresh.publicJwk;
    },
    retire(key) {
      keys.splice(keys.indexOf(key), 1);
    },
    down() {
      isDown = true;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      isDown = false;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A token with any header and claims, signed as the caller says: `alg: none` (empty signature), or HS256. */
export function forgeToken(header: Record<string, unknown>, claims: Record<string, unknown>, hmacSecret?: string | Buffer): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  if (hmacSecret === undefined) return `${input}.`;
  return `${input}.${createHmac('sha256', hmacSecret).update(input).digest('base64url')}`;
}

/** The public key as an attacker would use it for HS256 confusion: its PEM (SPKI) and its JWK JSON. */
export async function publicKeySecrets(key: GrafanaKey): Promise<string[]> {
  return [await exportSPKI(key.publicKey), JSON.stringify(key.publicJwk)];
}
