import { MethodNotAllowed, NotFound } from '../core/http-errors.js';
import type { Endpoint, Preset } from './endpoint.js';

export interface EndpointTable {
  match(method: string, path: string): Endpoint;
}

/**
 * Compiles a preset's rows once: exact paths in a map, patterns in order. A path no row knows is 404
 * (never forwarded); a known path with another method is 405. Exact rows win over patterns.
 */
export function compileEndpointTable(preset: Preset): EndpointTable {
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
