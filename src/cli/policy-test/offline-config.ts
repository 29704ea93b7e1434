import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Config } from '../../config/config.js';
import { ConfigError, parseConfig } from '../../config/load.js';
import { planTokenSource } from '../../secrets/create.js';

/**
 * The configuration `scopegate test` runs: the real one, with only what cannot be reached offline replaced
 * (docs/decisions.md lists it), so routing, authentication, policies, enforcement and limits are the ones
 * `serve` builds from the same file:
 * - every upstream and component URL → the capturing upstream on 127.0.0.1 (its TLS settings dropped), and
 *   SigV4 credentials → fixed test keys (the signature is computed as in production, over a fake key);
 * - the users file → a copy whose passwords are random for this run (the hashes cannot be reversed);
 * - JWKS → a key made for this run; OIDC → an issuer on 127.0.0.1 serving discovery and that key; the
 *   HMAC secret is the configured one; a case's claims are signed with these;
 * - Grafana → a stand-in on 127.0.0.1: its signing key made for this run, its teams API with the members the
 *   cases give (rewriteGrafana);
 * - limits on Redis → the memory backend; tracing off; the decision log's sinks off (the runner reads the records).
 * Static tokens are read from their configured source (file or env): a case names a token by its entry's `name`.
 */
export interface OfflineHarness {
  readonly config: Config;
  /** The request headers that present this identity. */
  credentialsFor(identity: HarnessIdentity): Promise<Record<string, string>>;
  /** Names of every identity the configuration knows (token entries, users), for `--init`. */
  readonly tokenNames: readonly string[];
  readonly userNames: readonly string[];
  /** The configured JWT providers, in chain order. */
  readonly jwtProviders: readonly JwtProvider[];
  close(): Promise<void>;
}

export type JwtProvider = 'hmac_jwt' | 'jwks' | 'oidc';
type CallerIdentity =
  | { token: string }
  | { basic: string; password?: string | undefined }
  | { claims: Record<string, unknown>; provider?: JwtProvider | undefined }
  | { bearer: string }
  | { none: true };
export type HarnessIdentity =
  | CallerIdentity
  | { grafana: { user: number; teams: string[]; login?: string | undefined; via: CallerIdentity } };

type Raw = Record<string, unknown>;
const TEST_AWS_KEYS = { type: 'static', access_key_id: 'AKIDSCOPEGATETEST', secret_access_key: 'scopegate-test-secret' };

/** An identity a case names that the configuration does not have: the case fails with this message. */
export class UnknownIdentity extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownIdentity';
  }
}

export async function buildOfflineHarness(
  raw: unknown,
  source: string,
  upstreamUrl: string,
  options: {
    tokensFile?: string;
    /** Grafana user id → the teams (a configured team's name, uid or id) the run's team map gives it. */
    grafanaUsers?: ReadonlyMap<number, readonly string[]>;
  } = {},
): Promise<OfflineHarness> {
  const original = parseConfig(raw, source);
  const doc = structuredClone(raw) as Raw;
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-test-'));
  const closers: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    pointUpstreamsAt(doc, upstreamUrl);
    delete doc.tracing;
    delete doc.decision_log;
    const limits = doc.limits as Raw | undefined;
    if (limits !== undefined) {
      limits.backend = 'memory';
      delete limits.redis;
    }
    const tokens = await readTokens(original, doc, options.tokensFile);
    const auth = (doc.auth ?? {}) as Raw;
    const passwords = await rewriteUsers(original, auth, dir);
    const keys = await rewriteKeys(original, auth, dir, closers);
    const grafana = await rewriteGrafana(original, auth, options.grafanaUsers ?? new Map(), closers);
    const config = parseConfig(doc, source);
    const jwtProviders = config.auth.order.filter(
      (n): n is JwtProvider => (n === 'hmac_jwt' || n === 'jwks' || n === 'oidc') && config.auth[n] !== undefined,
    );
    const harness: OfflineHarness = {
      config,
      tokenNames: [...tokens.keys()],
      userNames: [...passwords.keys()],
      jwtProviders,
      async credentialsFor(identity): Promise<Record<string, string>> {
        if ('grafana' in identity) {
          if (grafana === undefined) throw new UnknownIdentity('a Grafana user was given, but [auth.grafana] is not configured');
          const { user, login, via } = identity.grafana;
          return { ...(await harness.credentialsFor(via)), 'x-grafana-id': await grafana.sign(user, login) };
        }
        if ('none' in identity) return {};
        if ('bearer' in identity) return { authorization: `Bearer ${identity.bearer}` };
        if ('token' in identity) {
          const token = tokens.get(identity.token);
          if (token === undefined) throw new UnknownIdentity(`no token entry is named ${JSON.stringify(identity.token)}`);
          return { authorization: `Bearer ${token}` };
        }
        if ('basic' in identity) {
          const password = identity.password ?? passwords.get(identity.basic);
          if (password === undefined) throw new UnknownIdentity(`the users file has no user ${JSON.stringify(identity.basic)}`);
          return { authorization: `Basic ${Buffer.from(`${identity.basic}:${password}`).toString('base64')}` };
        }
        const provider = identity.provider ?? jwtProviders[0];
        if (provider === undefined) throw new UnknownIdentity('claims were given, but no JWT provider is configured');
        return { authorization: `Bearer ${await keys.sign(provider, config, identity.claims)}` };
      },
      async close() {
        for (const close of closers.reverse()) await close();
      },
    };
    return harness;
  } catch (error) {
    for (const close of closers.reverse()) await close();
    throw error;
  }
}

function pointUpstreamsAt(doc: Raw, url: string): void {
  const proxy = doc.proxy as Raw;
  delete proxy.tls;
  for (const upstream of (proxy.upstreams ?? []) as Raw[]) {
    upstream.upstream = url;
    delete upstream.tls;
    const components = upstream.components as Raw | undefined;
    if (components !== undefined) for (const key of Object.keys(components)) components[key] = url;
    const sign = upstream.sign as Raw | undefined;
    if (sign !== undefined) sign.credentials = { ...TEST_AWS_KEYS };
  }
}

/** Entry name (or `sha256:…` for an unnamed entry, as the token set names it) → token. */
async function readTokens(config: Config, doc: Raw, tokensFile: string | undefined): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (config.backend_type === undefined) return names;
  if (tokensFile !== undefined || config.backend_type === 'secretsmanager') {
    if (tokensFile === undefined) {
      throw new ConfigError('config', [
        'backend_type = "secretsmanager" cannot be read offline: give the token set as a file with --tokens FILE',
      ]);
    }
    doc.backend_type = 'file';
    doc.file = { path: tokensFile, watch: false };
    delete doc.secretsmanager;
  } else if (config.backend_type === 'file') {
    (doc.file as Raw).watch = false;
  }
  const plan = await planTokenSource(parseConfig(doc, 'config'), {});
  if (plan === undefined) return names;
  const set = await plan.source.load();
  plan.source.close?.();
  for (const [token, entry] of Object.entries((set ?? {}) as Raw)) {
    const name =
      typeof entry === 'object' && entry !== null && typeof (entry as Raw).name === 'string'
        ? ((entry as Raw).name as string)
        : `sha256:${hash('sha256', token, 'hex').slice(0, 12)}`;
    names.set(name, token);
  }
  return names;
}

/** A copy of the users file whose passwords are random for this run (plaintext; the real ones are hashes). */
async function rewriteUsers(config: Config, auth: Raw, dir: string): Promise<Map<string, string>> {
  const passwords = new Map<string, string>();
  const basic = config.auth.basic;
  if (basic === undefined) return passwords;
  const document = parseYaml(await readFile(basic.users_file, 'utf8')) as { users?: { username?: unknown; password?: unknown }[] };
  for (const user of document.users ?? []) {
    if (typeof user.username !== 'string') continue;
    const password = randomBytes(12).toString('base64url');
    passwords.set(user.username, password);
    user.password = password;
  }
  const path = join(dir, 'users.yaml');
  await writeFile(path, stringifyYaml(document));
  auth.basic = { ...(auth.basic as Raw), users_file: path, watch: false, reload_interval: '0s' };
  return passwords;
}

interface Keys {
  sign(provider: JwtProvider, config: Config, claims: Record<string, unknown>): Promise<string>;
}

/** JWKS and OIDC keys made for this run; the HMAC secret is the configured one. */
async function rewriteKeys(config: Config, auth: Raw, dir: string, closers: (() => Promise<void>)[]): Promise<Keys> {
  const jose = await import('jose');
  const asymmetric = new Map<JwtProvider, { alg: string; key: import('jose').CryptoKey }>();
  for (const provider of ['jwks', 'oidc'] as const) {
    const section = config.auth[provider];
    if (section === undefined) continue;
    const alg = section.algorithms[0] as string;
    const pair = await jose.generateKeyPair(alg === 'Ed25519' ? 'EdDSA' : alg, { extractable: true });
    const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid: `scopegate-test-${provider}`, alg, use: 'sig' };
    const jwks = JSON.stringify({ keys: [jwk] });
    asymmetric.set(provider, { alg, key: pair.privateKey });
    if (provider === 'jwks') {
      const path = join(dir, 'jwks.json');
      await writeFile(path, jwks);
      const next: Raw = { ...(auth.jwks as Raw), file: path };
      delete next.url;
      auth.jwks = next;
    } else {
      const server = await startIssuer(jwks);
      closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const { port } = server.address() as AddressInfo;
      auth.oidc = { ...(auth.oidc as Raw), issuer: `http://127.0.0.1:${port}` };
    }
  }
  return {
    async sign(provider, running, claims) {
      const nowSeconds = Math.floor(Date.now() / 1000);
      const section = running.auth[provider];
      if (section === undefined) throw new UnknownIdentity(`the ${provider} provider is not configured`);
      const audience = section.audience?.[0] ?? ('client_id' in section ? section.client_id : undefined);
      const payload: Record<string, unknown> = {
        sub: 'test-subject',
        iat: nowSeconds,
        exp: nowSeconds + 3600,
        ...(section.issuer !== undefined ? { iss: section.issuer } : {}),
        ...(audience !== undefined ? { aud: audience } : {}),
        ...claims,
      };
      const jwt = new jose.SignJWT(payload as import('jose').JWTPayload);
      if (provider === 'hmac_jwt') {
        const c = running.auth.hmac_jwt;
        if (c === undefined) throw new UnknownIdentity('the hmac_jwt provider is not configured');
        const secret = c.secret !== undefined ? c.secret : (await readFile(c.secret_file as string, 'utf8')).trim();
        return jwt.setProtectedHeader({ alg: c.algorithms[0] as string, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
      }
      const key = asymmetric.get(provider);
      if (key === undefined) throw new UnknownIdentity(`the ${provider} provider is not configured`);
      return jwt.setProtectedHeader({ alg: key.alg, kid: `scopegate-test-${provider}`, typ: 'JWT' }).sign(key.key);
    },
  };
}

/** Signs `X-Grafana-Id` for a user of the run's Grafana stand-in. */
interface GrafanaSigner {
  sign(user: number, login: string | undefined): Promise<string>;
}

/**
 * `[auth.grafana]` → a Grafana stand-in on 127.0.0.1 (`rewriteGrafana`): Grafana's signing keys (an ES256 key
 * made for the run) and the teams API the gateway builds its team map from, with the configured teams and the
 * members the cases give them; the API token → one for the run. The authenticator, its presenters, grants and
 * deny rules are the configured ones.
 */
async function rewriteGrafana(
  config: Config,
  auth: Raw,
  users: ReadonlyMap<number, readonly string[]>,
  closers: (() => Promise<void>)[],
): Promise<GrafanaSigner | undefined> {
  const section = config.auth.grafana;
  if (section === undefined) return undefined;
  const jose = await import('jose');
  const pair = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid: 'scopegate-test-grafana', alg: 'ES256', use: 'sig' };
  // Every configured team, as Grafana's team search lists it (an id, a uid, a name), and its members.
  const teams = section.teams.map((team, i) => {
    const found = { id: team.id ?? 1000 + i, uid: team.uid ?? `scopegate-test-${i}`, name: team.name ?? `team-${i}` };
    const refs = [String(found.id), found.uid, found.name];
    const members = [...users].filter(([, names]) => names.some((name) => refs.includes(name))).map(([userId]) => ({ userId }));
    return { ...found, members };
  });
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const json = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/api/signing-keys/keys') return json({ keys: [jwk] });
    if (req.headers.authorization !== `Bearer ${GRAFANA_TEST_TOKEN}`) return void res.writeHead(401).end();
    if (path === '/api/teams/search') {
      const listed = teams.map(({ members, ...team }) => ({ ...team, memberCount: members.length }));
      return json({ totalCount: listed.length, teams: listed, page: 1, perPage: listed.length });
    }
    const team = teams.find((t) => path === `/api/teams/${t.id}/members`);
    if (team !== undefined) return json(team.members);
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const rootUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const next: Raw = { ...(auth.grafana as Raw), url: rootUrl, api_token: GRAFANA_TEST_TOKEN };
  delete next.api_token_file;
  auth.grafana = next;
  return {
    async sign(user, login) {
      const nowSeconds = Math.floor(Date.now() / 1000);
      return new jose.SignJWT({ ...(login !== undefined ? { login } : {}), type: 'user' })
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'jwt' })
        .setIssuer(rootUrl)
        .setAudience(`org:${section.org_id}`)
        .setSubject(`user:${user}`)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + 600)
        .sign(pair.privateKey);
    },
  };
}

const GRAFANA_TEST_TOKEN = 'scopegate-test-grafana-api';

/** OpenID Connect Discovery and the JWKS, on 127.0.0.1, for the run's OIDC key. */
async function startIssuer(jwks: string): Promise<Server> {
  const server = createServer((req, res) => {
    const { port } = server.address() as AddressInfo;
    const issuer = `http://127.0.0.1:${port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(jwks);
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
