import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** One response, fully read. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

export interface RawRequestOptions {
  readonly method?: string;
  /** Sent on the wire exactly as given (fetch would normalise `..`, `%2e` and `//` before sending). */
  readonly path?: string;
  /** Header values may be arrays: each element is sent as its own header line. */
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: Buffer | string;
  /** A fresh connection per request (no keep-alive), so the test controls every socket. */
  readonly agent?: false;
}

/**
 * A request through `node:http` with a raw request target and repeated headers, for the cases fetch cannot
 * express. `base` is `http://127.0.0.1:<port>`.
 */
export function sendRaw(base: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
