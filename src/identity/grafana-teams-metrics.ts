import { Counter, Gauge, type Registry } from 'prom-client';
import type { TeamsRefreshMetrics } from './grafana-teams.js';

/**
 * The Grafana team map's freshness on the app's Registry: refreshes by result, the map's age (what /ready
 * compares with the refresh interval plus the grace period) and how many users it holds. The signing keys'
 * freshness is `scopegate_signing_keys_age_seconds{source="grafana"}` (jwks-metrics.ts).
 */
export function createTeamsMetrics(registry: Registry, nowMs: () => number): TeamsRefreshMetrics {
  let lastSuccessMs: () => number | undefined = () => undefined;
  let users: () => number | undefined = () => undefined;
  const refreshes = new Counter({
    name: 'scopegate_grafana_teams_refresh_total',
    help: 'Refreshes of the Grafana user → teams map, by result (success, failure).',
    labelNames: ['result'],
    registers: [registry],
  });
  new Gauge({
    name: 'scopegate_grafana_teams_age_seconds',
    help: 'Seconds since the Grafana team map was last loaded successfully (absent until it first loads).',
    registers: [registry],
    collect() {
      this.reset();
      const last = lastSuccessMs();
      if (last !== undefined) this.set((nowMs() - last) / 1000);
    },
  });
  new Gauge({
    name: 'scopegate_grafana_teams_users',
    help: 'Grafana users in at least one mapped team, in the current team map.',
    registers: [registry],
    collect() {
      this.reset();
      const count = users();
      if (count !== undefined) this.set(count);
    },
  });
  return {
    countRefresh: (ok) => refreshes.inc({ result: ok ? 'success' : 'failure' }),
    track(last, count) {
      lastSuccessMs = last;
      users = count;
    },
  };
}
