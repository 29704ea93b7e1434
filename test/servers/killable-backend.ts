import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** One request as a backend received it. */
export interface BackendHit {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export type BackendHandler = (hit: BackendHit, res: ServerResponse) => void;

/**
 * A backend of a balanced upstream, on 127.0.0.1 (or another loopback address) with a port kept across `kill()` and `restart()`: killed, its
 * port refuses connections (and open connections are cut), as a crashed process's would; restarted, it listens
 * on the same port again. By default it answers 200 `{"backend": name, ...}`, so a test sees who answered.
 */
export interface KillableBackend {
  readonly name: string;
  readonly url: string;
  readonly hits: BackendHit[];
  setHandler(handler: BackendHandler): void;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function answerAs(name: string): BackendHandler {
  return (hit, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', backend: name, path: hit.url }));
  };
}

export async function startKillableBackend(name: string, port = 0, host = '127.0.0.1'): Promise<KillableBackend> {
  let handler: BackendHandler = answerAs(name);
  const hits: BackendHit[] = [];
  let server: Server | undefined;
  const listen = async (at: number): Promise<number> => {
    const next = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const hit = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        hits.push(hit);
        handler(hit, res);
      });
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(at, host, () => resolve());
    });
    server = next;
    return (next.address() as AddressInfo).port;
  };
  const boundPort = await listen(port);
  const kill = async () => {
    const current = server;
    server = undefined;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  return {
    name,
    url: `http://${host}:${boundPort}`,
    hits,
    setHandler(next) {
      handler = next;
    },
    kill,
    async restart() {
      if (!server) await listen(boundPort);
    },
    stop: kill,
  };
}

/** `count` backends named b0, b1, …, stopped when the test `t` ends. */
export async function startKillableBackends(t: TestContext, count: number): Promise<KillableBackend[]> {
  const list = await Promise.all(Array.from({ length: count }, (_, i) => startKillableBackend(`b${i}`)));
  t.after(() => Promise.all(list.map((b) => b.stop())));
  return list;
}
