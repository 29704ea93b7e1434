import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One request as the upstream received it: what the gateway actually sent. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Trailer fields after a chunked body (RFC 9112 §7.1.2), as received. */
  readonly trailers: NodeJS.Dict<string>;
  /** True for a WebSocket upgrade (Loki tail); `messages` then collects what the client sent. */
  readonly websocket: boolean;
  readonly messages: Buffer[];
}

export type UpstreamHandler = (request: RecordedRequest, res: ServerResponse) => void | Promise<void>;
export type WebSocketHandler = (socket: WebSocket, request: RecordedRequest) => void;

export interface RecordingUpstreamOptions {
  /** Answers each HTTP request; default 200 `{"status":"success","data":[]}`. */
  readonly handler?: UpstreamHandler;
  /** Runs for each accepted WebSocket; default: keep it open, send nothing. */
  readonly onWebSocket?: WebSocketHandler;
}

export interface RecordingUpstream {
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** Replaces the handler for the following requests. */
  setHandler(handler: UpstreamHandler): void;
  reset(): void;
  stop(): Promise<void>;
}

const defaultHandler: UpstreamHandler = (_request, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"success","data":[]}');
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An HTTP (and WebSocket) upstream on 127.0.0.1:0 that records everything it receives. */
export async function startRecordingUpstream(options: RecordingUpstreamOptions = {}): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  let handler = options.handler ?? defaultHandler;
  const record = (req: IncomingMessage, body: Buffer, websocket: boolean): RecordedRequest => {
    const entry = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      trailers: req.trailers,
      websocket,
      messages: [],
    };
    requests.push(entry);
    return entry;
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => handler(record(req, body, false), res))
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`recording upstream handler failed: ${String(error)}`);
      });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const entry = record(req, Buffer.alloc(0), true);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer) => entry.messages.push(Buffer.from(data)));
      options.onWebSocket?.(ws, entry);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler(next) {
      handler = next;
    },
    reset() {
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
