import { MethodNotAllowed, NotFound } from '../core/http-errors.js';
import type { Endpoint, Preset } from './endpoint.js';

export interface EndpointTable {
  match(method: string, path: string): Endpoint;
}

/**
 * Compiles a preset's rows once: exact paths in a map, patterns in order. A path no row knows is 404
 * (never forwarded); a known path with another method is 405. Exact rows win over patterns.
 * @throws Error when two rows have the same path (the same string, or patterns of the same source and flags)
 *   and share a method: the second would never be reached, and which one answers would depend on row order.
 */
export function compileEndpointTable(preset: Preset): EndpointTable {
  refuseDuplicateRows(preset);
  const exact = new Map<string, Endpoint[]>();
  const patterns: Endpoint[] = [];
  for (const endpoint of preset.endpoints) {
    if (typeof endpoint.path === 'string') {
      const list = exact.get(endpoint.path) ?? [];
      list.push(endpoint);
      exact.set(endpoint.path, list);
    } else {
      patterns.push(endpoint);
    }
  }
  return {
    match(method, path) {
      const candidates = exact.get(path) ?? patterns.filter((e) => (e.path as RegExp).test(path));
      if (candidates.length === 0) throw new NotFound('unknown_endpoint', `no ${preset.type} endpoint at ${path.slice(0, 200)}`);
      // HEAD only where a row lists it: the backends' APIs answer HEAD with their own text/plain 405.
      const found = candidates.find((e) => e.methods.includes(method));
      if (!found) {
        const allowed = [...new Set(candidates.flatMap((e) => e.methods))].join(', ');
        throw new MethodNotAllowed(`${method} is not allowed on ${path.slice(0, 200)}`, allowed);
      }
      return found;
    },
  };
}

function refuseDuplicateRows(preset: Preset): void {
  const seen = new Map<string, Endpoint>();
  for (const endpoint of preset.endpoints) {
    const path = typeof endpoint.path === 'string' ? `=${endpoint.path}` : `~/${endpoint.path.source}/${endpoint.path.flags}`;
    for (const method of endpoint.methods) {
      const key = `${method} ${path}`;
      const first = seen.get(key);
      if (first !== undefined) {
        throw new Error(`preset ${preset.type}: rows ${first.name} and ${endpoint.name} both serve ${method} ${String(endpoint.path)}`);
      }
      seen.set(key, endpoint);
    }
  }
}
