import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * After the last answer on a connection the gateway sends its FIN, then reads and discards what the client
 * still sends until the client closes, for at most this long. Closing at once with unread bytes on the
 * socket makes the kernel send a reset, which can destroy the answer before the client reads it (RFC 9112
 * §9.6; Go's closeWriteAndWait, nginx's lingering_close).
 */
export const LINGER_MS = 2_000;

/** The proxy listener's connections and requests: lingering close, and a graceful shutdown. */
export interface ProxyConnections {
  /**
   * Called first for every request. False when its connection is closing (its last answer is decided):
   * the request is dropped unanswered and never reaches the pipeline (the client sees the close announced
   * by `Connection: close` on the previous answer, and may retry).
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean;
  /** This answer is the connection's last: `Connection: close`, and later requests on it are dropped. */
  closeAfter(res: ServerResponse): void;
  readonly inFlight: number;
  /**
   * As Go's `Server.Shutdown`: idle keep-alive connections close now; each busy one answers the request in
   * progress with `Connection: close` (when its head is not sent yet) and then closes, so no connection
   * carries more than one more request. Requests already admitted run to the end.
   */
  beginShutdown(): void;
  /** Resolves when no admitted request is in flight. */
  drained(): Promise<void>;
}

export function trackProxyConnections(server: Server): ProxyConnections {
  const active = new Map<ServerResponse, Socket>();
  const closing = new WeakSet<Socket>();
  const lingering = new WeakSet<Socket>();
  let shuttingDown = false;
  let onDrained: (() => void) | undefined;

  // An answer whose head is already out (a streamed response said keep-alive) cannot take it back: its
  // connection closes once idle, or after the one request the client may still send on it.
  const closeAfter = (res: ServerResponse, socket: Socket) => {
    if (res.headersSent) return;
    res.setHeader('connection', 'close');
    closing.add(socket);
  };

  // Node ends a connection whose last answer said `Connection: close` with socket.destroySoon(): that
  // closes with whatever the client sent after the answer still unread. This socket lingers instead.
  const lingerOnClose = (socket: Socket) => {
    if (lingering.has(socket)) return;
    lingering.add(socket);
    socket.destroySoon = () => {
      closing.add(socket);
      if (socket.destroyed || socket.writableEnded) return;
      socket.end();
      const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
      socket.once('close', () => clearTimeout(timer));
      socket.once('end', () => (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy())));
      socket.resume();
    };
  };

  return {
    admit(req, res) {
      const socket = req.socket;
      if (closing.has(socket)) {
        req.resume();
        return false;
      }
      lingerOnClose(socket);
      active.set(res, socket);
      res.on('close', () => {
        active.delete(res);
        // The connection may be idle now: during a shutdown it closes rather than wait for another request.
        if (shuttingDown) setImmediate(() => server.closeIdleConnections());
        if (active.size === 0) onDrained?.();
      });
      if (shuttingDown) closeAfter(res, socket);
      return true;
    },
    closeAfter(res) {
      const socket = active.get(res);
      if (socket !== undefined) closeAfter(res, socket);
    },
    get inFlight() {
      return active.size;
    },
    beginShutdown() {
      shuttingDown = true;
      for (const [res, socket] of active) closeAfter(res, socket);
      server.closeIdleConnections();
    },
    drained() {
      if (active.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const previous = onDrained;
        onDrained = () => {
          previous?.();
          resolve();
        };
      });
    },
  };
}
