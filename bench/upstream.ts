import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BIG_BODY, BIG_PATH, SMALL_BODY } from './bodies.js';

/**
 * The benchmark's upstream, run as its own process (so it does not share an event loop with the load
 * generator or the gateway): a small Prometheus-shaped JSON answer on every path, and 100 KB on `/big`.
 * Bodies are built once. Prints its port as the first stdout line; exits on SIGTERM or when stdin closes
 * (the runner went away).
 */
const server = createServer((req, res) => {
  const body = req.url === BIG_PATH ? BIG_BODY : SMALL_BODY;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
