import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

/**
 * The floor under the gateway: node:http in, undici `Pool.dispatch` out, the response streamed back with
 * backpressure, and nothing else (no authentication, routing, logging or metrics). What Node itself costs per
 * request: the gateway's rows are compared with it, in the same run. Its own process, like the upstream:
 * `node bench/floor.ts <upstream origin>` prints its port on stdout and exits when stdin closes.
 */
const pool = new Pool(process.argv[2] as string, { connections: 256, pipelining: 1, keepAliveTimeout: 600_000 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart(_ctrl, statusCode, headers) {
      res.writeHead(statusCode, withoutHopByHop(headers));
    },
    onResponseData(ctrl, chunk) {
      if (!res.write(chunk)) {
        ctrl.pause();
        res.once('drain', () => ctrl.resume());
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
  };
  pool.dispatch(
    {
      method: req.method as Dispatcher.HttpMethod,
      path: req.url ?? '/',
      headers: withoutHopByHop(req.headers),
      body: hasBody ? req : null,
    },
    handler,
  );
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
