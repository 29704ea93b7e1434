import { createServer } from 'node:net';

/**
 * A port that was free a moment ago: bind 127.0.0.1:0, read the port, release it. Another process can take it
 * before ours binds, so launchers use `retryOnPortClash`.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Thrown by a launcher when its process could not bind its port. */
export class PortClashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortClashError';
  }
}

/** Runs `start` with fresh free ports until it does not fail with a port clash (up to `attempts`). */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof PortClashError) || attempt >= attempts) throw error;
    }
  }
}
