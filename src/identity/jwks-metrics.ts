import { Counter, Gauge, type Registry } from 'prom-client';

/** What a key source reports; the age gauge reads `lastSuccessMs` at scrape time. */
export interface JwksMetrics {
  countRefresh(source: string, ok: boolean): void;
  track(source: string, lastSuccessMs: () => number | undefined): void;
}

/**
 * Signing-key metrics of the JWKS and OIDC providers, on the app's Registry: refreshes by result, and the age
 * of the keys in use (the figure /ready compares with `stale_after`), labelled by provider name (bounded by
 * config). A source replaced by a new discovery takes over its name.
 */
export function createJwksMetrics(registry: Registry, nowMs: () => number): JwksMetrics {
  const sources = new Map<string, () => number | undefined>();
  const refreshes = new Counter({
    name: 'scopegate_signing_keys_refresh_total',
    help: 'JWKS fetches (refresh interval, unknown kid, start) by provider and result (success, failure).',
    labelNames: ['source', 'result'],
    registers: [registry],
  });
  new Gauge({
    name: 'scopegate_signing_keys_age_seconds',
    help: 'Seconds since the signing keys were last loaded successfully (absent until they first load).',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [source, lastSuccessMs] of sources) {
        const last = lastSuccessMs();
        if (last !== undefined) this.set({ source }, (nowMs() - last) / 1000);
      }
    },
  });
  return {
    countRefresh: (source, ok) => refreshes.inc({ source, result: ok ? 'success' : 'failure' }),
    track: (source, lastSuccessMs) => void sources.set(source, lastSuccessMs),
  };
}
