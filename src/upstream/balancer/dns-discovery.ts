import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { BackendConfig } from '../../config/sections/backends.js';

/** One answer: an address, and the port where the record gives one (SRV). */
export interface ResolvedAddress {
  readonly address: string;
  readonly port?: number;
}

/**
 * Resolves a host name: `address` for A/AAAA (through the system's resolver, so /etc/hosts is read, as a
 * headless Service's name resolves in Kubernetes), `srv` for SRV records. Injected (AppDeps.resolveHost), so a
 * test changes the answers without a DNS server.
 */
export type HostResolver = (name: string, kind: 'address' | 'srv') => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = async (name, kind) => {
  if (kind === 'srv') {
    const records = await dns.resolveSrv(name);
    const addresses = await Promise.all(
      records.map(async (r) => (await dns.lookup(r.name, { all: true })).map((a) => ({ address: a.address, port: r.port }))),
    );
    return addresses.flat();
  }
  return (await dns.lookup(name, { all: true })).map((a) => ({ address: a.address }));
};

/** One backend as discovered: the URL to connect to (an address), the configured name (TLS), its weight. */
export interface DiscoveredBackend {
  readonly url: URL;
  readonly hostname: string;
  readonly weight: number;
}

/**
 * The backends the configured ones stand for now: each name resolved to its addresses (an IP literal stands
 * for itself). A name whose lookup fails keeps its last answer (`previous`): a DNS hiccup never empties an
 * upstream. Order follows the configuration, then the answer.
 */
export async function resolveBackends(
  configured: readonly BackendConfig[],
  srv: boolean,
  resolver: HostResolver,
  previous: ReadonlyMap<string, readonly DiscoveredBackend[]>,
): Promise<Map<string, readonly DiscoveredBackend[]>> {
  const answers = new Map<string, readonly DiscoveredBackend[]>();
  await Promise.all(
    configured.map(async ({ url, weight }) => {
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(hostname)) {
        answers.set(url.href, [{ url, hostname, weight }]);
        return;
      }
      try {
        const resolved = await resolver(hostname, srv ? 'srv' : 'address');
        answers.set(
          url.href,
          resolved.map(({ address, port }) => {
            const at = new URL(url.href);
            at.hostname = isIP(address) === 6 ? `[${address}]` : address;
            if (port !== undefined) at.port = String(port);
            return { url: at, hostname, weight };
          }),
        );
      } catch {
        answers.set(url.href, previous.get(url.href) ?? []);
      }
    }),
  );
  return answers;
}
