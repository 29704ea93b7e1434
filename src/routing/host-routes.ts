import type { UpstreamConfig } from '../config/config.js';

export interface HostRoute<T> {
  readonly config: UpstreamConfig;
  readonly target: T;
}

/**
 * Picks the upstream for a Host: routes sorted by priority (highest first; config order breaks ties), the
 * first whose `match` regex matches the whole host name (port removed, case-insensitive), and whose
 * `path_prefix`, if any, is a prefix of the path at a segment boundary.
 */
export function createHostRouter<T>(routes: readonly HostRoute<T>[]) {
  const sorted = routes
    .map((route, index) => ({ route, index }))
    .sort((a, b) => b.route.config.priority - a.route.config.priority || a.index - b.index)
    .map(({ route }) => route);

  return function findRoute(hostHeader: string | undefined, path: string): { route: HostRoute<T>; path: string } | undefined {
    const host = hostWithoutPort(hostHeader ?? '');
    for (const route of sorted) {
      if (!route.config.match.test(host)) continue;
      const prefix = route.config.path_prefix;
      if (prefix === undefined) return { route, path };
      if (path === prefix) return { route, path: '/' };
      if (path.startsWith(`${prefix}/`)) return { route, path: path.slice(prefix.length) };
    }
    return undefined;
  };
}

/** `example.com:8000` → `example.com`; `[::1]:8000` → `::1`. */
export function hostWithoutPort(host: string): string {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    return end === -1 ? trimmed : trimmed.slice(1, end);
  }
  const colon = trimmed.lastIndexOf(':');
  return colon === -1 ? trimmed : trimmed.slice(0, colon);
}
