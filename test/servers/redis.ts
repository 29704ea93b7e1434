import { createConnection } from 'node:net';
import { findFreePort, PortClashError, retryOnPortClash } from './free-port.js';
import { makeTempDir, startManagedProcess, type ManagedProcess } from './managed-process.js';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the process (SIGTERM); `start()` brings a fresh, empty one back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Sends one inline command and returns the raw reply (e.g. `SCRIPT FLUSH`). */
  command(line: string): Promise<string>;
}

/**
 * Debian's /usr/bin/redis-server on 127.0.0.1, without persistence (`--save "" --appendonly no`), in a temp dir.
 * `stop()` then `start()` simulates an outage and a return on the same address.
 */
export async function startRedis(): Promise<RedisServer> {
  return retryOnPortClash(async () => {
    const port = await findFreePort();
    let proc = await launch(port);
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: () => proc.stop(),
      async start() {
        proc = await launch(port);
      },
      command: (line) => sendCommand(port, line),
    };
  });
}

async function launch(port: number): Promise<ManagedProcess> {
  const dir = await makeTempDir('redis');
  const proc = startManagedProcess(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
      '--enable-debug-command',
      'local',
    ],
    dir,
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) break;
    try {
      if ((await sendCommand(port, 'PING')).startsWith('+PONG')) return proc;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await proc.stop();
  if (/address already in use/i.test(proc.output())) throw new PortClashError('redis-server: port clash');
  throw new Error(`redis-server did not start on ${port}:\n${proc.output()}`);
}

function sendCommand(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('redis command timed out')));
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.endsWith('\r\n')) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
  });
}
