import type { Dispatcher } from 'undici';
import type { Signer } from './sigv4.js';

/**
 * SigV4 signing as an undici interceptor (built as undici's own `lib/interceptor/*.js` are), composed onto the
 * pools of an upstream with `sign`, and only there: every request that leaves through such a pool — plain,
 * WebSocket upgrade or lookup — is signed last, over its final path, headers and bytes, and no caller can
 * forget it. Unsigned upstreams keep the bare pool and pay nothing.
 *
 * A body must be a Buffer to be covered; a stream is signed as `UNSIGNED-PAYLOAD` where the upstream allows it
 * (`unsigned_payload`), else the signer throws (the pipeline buffers bodies for such upstreams). A signing
 * failure (`aws_credentials_unavailable`) reaches the handler's `onResponseError` before anything was sent,
 * as undici's dns interceptor reports a failed lookup.
 */
export function createSigningInterceptor(signer: Signer, origin: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const body = opts.body;
    signer
      .sign({
        method: opts.method,
        url: new URL(opts.path, origin),
        headers: opts.headers as Record<string, string>,
        body: Buffer.isBuffer(body) ? body : body === null || body === undefined ? undefined : 'streamed',
      })
      .then(
        (signed) => dispatch({ ...opts, path: `${signed.url.pathname}${signed.url.search}`, headers: signed.headers }, handler),
        (error: unknown) => handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, error as Error),
      );
    return true;
  };
}
