import type { Preset } from '../endpoint.js';

const ANY_PATH = /^\//;

/**
 * `type = "raw"`: LGTM Auth Proxy's behaviour — every path is forwarded with the tenant header and nothing
 * else is enforced. Reads need the `read` scope, every other method `write`.
 */
export const rawPreset: Preset = {
  type: 'raw',
  components: [],
  endpoints: [
    { name: 'raw.read', methods: ['GET', 'HEAD', 'OPTIONS'], path: ANY_PATH, scope: 'read' },
    { name: 'raw.write', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: ANY_PATH, scope: 'write' },
  ],
};
