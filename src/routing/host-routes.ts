import type { UpstreamConfig } from '../config/config.js';

export interface HostRoute<T> {
  readonly config: UpstreamConfig;
  readonly target: T;
}

/**
 * Picks the upstream for a host name (see `hostName`): routes sorted by priority (highest first; config order
 * breaks ties), the first whose `match` regex matches the whole host name, and whose `path_prefix`, if any, is
 * a prefix of the path at a segment boundary.
 */
export function createHostRouter<T>(routes: readonly HostRoute<T>[]) {
  const sorted = routes
    .map((route, index) => ({ route, index }))
    .sort((a, b) => b.route.config.priority - a.route.config.priority || a.index - b.index)
    .map(({ route }) => route);

  return function findRoute(host: string, path: string): { route: HostRoute<T>; path: string } | undefined {
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

// A DNS name (letters, digits, `-`, `_`, dots), or an IP literal in brackets.
const HOST_NAME = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])$/;

/**
 * The name routes are matched on, from a Host header: lower case, without the port and without the trailing
 * dot of a fully qualified name (`Prom.Example.:8000` → `prom.example`), so the same name always takes the same
 * route. No Host is the empty name. `undefined` for anything that is not a host name (userinfo, spaces, percent-encoding, empty labels):
 * such a header could otherwise slip past a specific route to a catch-all one.
 */
export function hostName(header: string | undefined): string | undefined {
  const host = (header ?? '').trim().toLowerCase();
  if (host === '') return ''; // HTTP/1.0 without Host: only a catch-all route (`.*`) matches.
  let name: string;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end === -1 || (end + 1 < host.length && !/^:\d{1,5}$/.test(host.slice(end + 1)))) return undefined;
    name = host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1 && !/^\d{1,5}$/.test(host.slice(colon + 1))) return undefined;
    name = colon === -1 ? host : host.slice(0, colon);
    if (name.endsWith('.')) name = name.slice(0, -1);
  }
  if (!HOST_NAME.test(name)) return undefined;
  return name.startsWith('[') ? name.slice(1, -1) : name;
}
