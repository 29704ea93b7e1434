import { startTestGateway, type StartedGateway } from './gateway.js';
import { startSigv4Verifier, type Sigv4Verifier, type VerifierKey } from './sigv4-verifier.js';
import { createTempTokenFile } from './temp-token-file.js';

export interface SignedGatewayOptions {
  /** The static key the gateway signs with, and the one key the verifier accepts. */
  readonly key: VerifierKey;
  /** The token file's entries. */
  readonly tokens: Record<string, unknown>;
  /** The upstream's `type` (default `raw`). */
  readonly type?: string;
  /** Keys of the upstream's `sign` table over the defaults (service `aps`, region `eu-west-1`, the static key). */
  readonly sign?: Record<string, unknown>;
}

/**
 * A gateway whose one upstream (every Host) is an independent SigV4 verifier (`sigv4-verifier.ts`) and signs
 * for it; both stopped, and the token file removed, when the test ends.
 */
export async function startSignedGateway(
  t: { after(fn: () => Promise<void>): void },
  options: SignedGatewayOptions,
): Promise<{ verifier: Sigv4Verifier; gateway: StartedGateway }> {
  const verifier = await startSigv4Verifier({ keys: [options.key], service: 'aps', region: 'eu-west-1' });
  t.after(() => verifier.close());
  const tokens = await createTempTokenFile(options.tokens);
  t.after(() => tokens.remove());
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        {
          match: '.*',
          type: options.type ?? 'raw',
          upstream: verifier.url.href.replace(/\/$/, ''),
          sign: {
            service: 'aps',
            region: 'eu-west-1',
            credentials: { type: 'static', access_key_id: options.key.accessKeyId, secret_access_key: options.key.secretAccessKey },
            ...options.sign,
          },
        },
      ],
    },
  });
  t.after(() => gateway.stop());
  return { verifier, gateway };
}
