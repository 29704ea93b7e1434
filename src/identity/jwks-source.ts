import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, errors } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { ReadinessCheck } from '../core/readiness.js';
import { ServiceUnavailable } from '../core/http-errors.js';
import type { JwksMetrics } from './jwks-metrics.js';

/**
 * A JSON Web Key Set we fetch ourselves (from a file or a URL) so we control refresh, rather than jose's
 * `createRemoteJWKSet`:
 * - refreshed on an interval, and on a token with an unknown `kid` (rotation), but at most once per
 *   `minRefetchIntervalMs`, so a flood of made-up kids cannot hammer the IdP;
 * - a failed fetch keeps the last good keys (an IdP outage must not lock everyone out) and /ready reports the
 *   keys stale after `staleAfterMs` without a successful refresh;
 * - listeners hear of every change, so verified-token caches are dropped when keys rotate.
 */
export interface JwksSourceOptions {
  readonly name: string;
  /** Exactly one of url and file. */
  readonly url?: string;
  readonly file?: string;
  readonly refreshIntervalMs: number;
  readonly minRefetchIntervalMs: number;
  readonly staleAfterMs: number;
  readonly fetchTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dispatcher?: Dispatcher;
  readonly metrics?: JwksMetrics;
  /**
   * When set (a URL source), the next refresh follows the response's `Cache-Control`: its `max-age`, bounded
   * by `maxAgeCapMs`; `defaultAgeMs` when it says `no-store`/`no-cache` or gives no max-age (Grafana's key
   * handler sets `max-age=3600`, but a global middleware of Grafana may replace it with `no-store`). A failed
   * fetch is retried after `minRefetchIntervalMs`. Unset: every `refreshIntervalMs`.
   */
  readonly cacheControl?: { readonly maxAgeCapMs: number; readonly defaultAgeMs: number };
}

const MAX_JWKS_BYTES = 1024 * 1024;

/** A JWKS document: a JSON object with a `keys` array (RFC 7517 §5). */
export function parseJwks(text: string): JSONWebKeySet {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new Error('not a JSON Web Key Set');
  }
  return parsed as JSONWebKeySet;
}

export class JwksKeySource {
  readonly #options: JwksSourceOptions;
  #keys: JWTVerifyGetKey | undefined;
  #currentJson = '';
  #lastSuccessMs: number | undefined;
  #lastAttemptMs: number | undefined;
  #inFlight: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** From the last response's Cache-Control (cacheControl mode). */
  #nextRefreshMs: number | undefined;
  readonly #listeners: (() => void)[] = [];

  constructor(options: JwksSourceOptions) {
    if ((options.url === undefined) === (options.file === undefined)) {
      throw new Error(`${options.name}: configure exactly one of jwks url and file`);
    }
    this.#options = options;
    options.metrics?.track(options.name, () => this.#lastSuccessMs);
  }

  /** First load, then the refresh timer. A failed first load is logged, not thrown: /ready shows it. */
  async start(): Promise<void> {
    const ok = await this.refresh();
    this.#schedule(ok);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One timer at a time: the next refresh after this one's result. */
  #schedule(lastOk: boolean): void {
    if (this.#closed) return;
    const cacheControl = this.#options.cacheControl;
    const delayMs =
      cacheControl === undefined
        ? this.#options.refreshIntervalMs
        : // max-age=0 must not become a busy loop: never sooner than the refetch rate limit.
          Math.max(lastOk ? (this.#nextRefreshMs ?? cacheControl.defaultAgeMs) : 0, this.#options.minRefetchIntervalMs);
    this.#timer = setTimeout(() => void this.refresh().then((ok) => this.#schedule(ok)), Math.max(delayMs, 1));
    this.#timer.unref();
  }

  /** Milliseconds since epoch of the last successful load (metrics, /ready). */
  get lastSuccessMs(): number | undefined {
    return this.#lastSuccessMs;
  }

  /** Called after the key set changed (rotation), so caches of verified tokens are dropped. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Fetches now (joining a fetch already under way). True when keys were loaded; false keeps the last good. */
  refresh(): Promise<boolean> {
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /**
   * The key resolver for `jwtVerify`. An unknown kid triggers one refetch when the rate limit allows (or
   * joins one under way), then the lookup is retried once; otherwise `JWKSNoMatchingKey` (→ `unknown_key`).
   */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.#keys === undefined) await this.refetchIfAllowed();
    const keys = this.#keys;
    if (keys === undefined) throw new ServiceUnavailable('jwks_unavailable', 'signing keys are not available');
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (!(await this.refetchIfAllowed()) || this.#keys === keys || this.#keys === undefined) throw error;
      return this.#keys(header, token);
    }
  };

  /** /ready: not ready until keys were loaded once, and again when no refresh succeeded for `staleAfterMs`. */
  get readiness(): ReadinessCheck {
    return { name: `jwks:${this.#options.name}`, notReadyReason: () => this.#notReadyReason() };
  }

  #notReadyReason(): string | undefined {
    if (this.#lastSuccessMs === undefined) return 'signing keys never loaded';
    const ageMs = this.#options.clock.now() - this.#lastSuccessMs;
    return ageMs > this.#options.staleAfterMs ? `signing keys are stale (last refresh ${Math.round(ageMs / 1000)}s ago)` : undefined;
  }

  /**
   * A refetch outside the schedule (an unknown kid, or a failed signature with a known kid, which a key
   * regenerated under the same kid causes): joins one under way, else at most one per
   * `minRefetchIntervalMs`. True when keys were loaded.
   */
  async refetchIfAllowed(): Promise<boolean> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const last = this.#lastAttemptMs;
    if (last !== undefined && this.#options.clock.now() - last < this.#options.minRefetchIntervalMs) return false;
    return this.refresh();
  }

  async #load(): Promise<boolean> {
    this.#lastAttemptMs = this.#options.clock.now();
    try {
      const jwks = await this.#read();
      const keys = createLocalJWKSet(jwks);
      const json = JSON.stringify(jwks);
      this.#lastSuccessMs = this.#options.clock.now();
      this.#options.metrics?.countRefresh(this.#options.name, true);
      if (json !== this.#currentJson) {
        this.#keys = keys;
        this.#currentJson = json;
        this.#options.logger.info({ jwks: this.#options.name, keys: jwks.keys.length }, 'signing keys loaded');
        for (const listener of this.#listeners) listener();
      }
      return true;
    } catch (error) {
      this.#options.metrics?.countRefresh(this.#options.name, false);
      const message = error instanceof Error ? error.message : String(error);
      this.#options.logger.warn({ jwks: this.#options.name, err: message }, 'signing keys refresh failed; keeping the last good keys');
      return false;
    }
  }

  async #read(): Promise<JSONWebKeySet> {
    const text = this.#options.file !== undefined ? await readFile(this.#options.file, 'utf8') : await this.#fetch();
    return parseJwks(text);
  }

  async #fetch(): Promise<string> {
    const url = this.#options.url as string;
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      headersTimeout: this.#options.fetchTimeoutMs,
      bodyTimeout: this.#options.fetchTimeoutMs,
      ...(this.#options.dispatcher !== undefined ? { dispatcher: this.#options.dispatcher } : {}),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`GET ${url} answered ${response.statusCode}`);
    }
    const text = await response.body.text();
    if (this.#options.cacheControl !== undefined)
      this.#nextRefreshMs = cacheTimeMs(response.headers['cache-control'], this.#options.cacheControl);
    if (text.length > MAX_JWKS_BYTES) throw new Error(`JWKS from ${url} is larger than ${MAX_JWKS_BYTES} bytes`);
    return text;
  }
}

/**
 * How long keys may be kept, from `Cache-Control` (RFC 9111 §5.2.2): `max-age` bounded by our own cap;
 * the default when the response forbids storing or gives no max-age.
 */
export function cacheTimeMs(
  header: string | string[] | undefined,
  bounds: { readonly maxAgeCapMs: number; readonly defaultAgeMs: number },
): number {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  const directives = value
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return Math.min(bounds.defaultAgeMs, bounds.maxAgeCapMs);
  const maxAge = directives.map((d) => /^max-age=("?)(\d+)\1$/.exec(d)).find((m) => m !== null);
  if (maxAge == null) return Math.min(bounds.defaultAgeMs, bounds.maxAgeCapMs);
  return Math.min(Number(maxAge[2]) * 1000, bounds.maxAgeCapMs);
}
