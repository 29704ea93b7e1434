import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ASKS_STATS, BIG_BODY, BIG_PATH, CONNECTIONS_PATH, SMALL_BODY, SMALL_STATS_BODY } from './bodies.js';

/**
 * The benchmark's upstream, run as its own process (so it does not share an event loop with the load
 * generator or the gateway): a small Prometheus-shaped JSON answer on every path (with a `stats` block when the
 * query string asks for one, as Prometheus does), and 100 KB on `/big`; a request body is read to the end first. Bodies are built once. Counts the connections it accepted
 * (`GET /__bench/connections`), so the runner sees how many each proxy opened. Prints its port as the first
 * stdout line; exits on SIGTERM or when stdin closes (the runner went away).
 */
let connections = 0;
const server = createServer((req, res) => {
  const answer = () => {
    const url = req.url ?? '';
    const body =
      url === BIG_PATH
        ? BIG_BODY
        : url === CONNECTIONS_PATH
          ? Buffer.from(String(connections))
          : ASKS_STATS.test(url)
            ? SMALL_STATS_BODY
            : SMALL_BODY;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  if (req.method === 'GET') answer();
  else req.resume().once('end', answer);
});
server.on('connection', () => (connections += 1));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
