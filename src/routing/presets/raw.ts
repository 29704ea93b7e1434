import type { Preset } from '../endpoint.js';

const ANY_PATH = /^\//;

/**
 * `type = "raw"`: LGTM Auth Proxy's behaviour — every path is forwarded with the tenant header and nothing
 * else is enforced. Reads need the `read` scope, every other method `write`. An identity limited by a label
 * policy is refused (the policy cannot be enforced here) unless the upstream sets `allow_unenforced_policy`.
 */
export const rawPreset: Preset = {
  type: 'raw',
  components: [],
  writesByDefault: true,
  unenforcedPolicyOptOut: true,
  endpoints: [
    { name: 'raw.read', methods: ['GET', 'HEAD', 'OPTIONS'], path: ANY_PATH, scope: 'read', fullAccessOnly: true },
    { name: 'raw.write', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: ANY_PATH, scope: 'write', fullAccessOnly: true },
  ],
};
