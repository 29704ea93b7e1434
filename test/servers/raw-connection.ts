import { connect, type Socket } from 'node:net';

/** One response read off a raw connection. */
export interface RawAnswer {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * One keep-alive TCP connection written byte for byte, read one response at a time (Content-Length
 * framed, as every gateway answer is). `ended` resolves when the peer closes, with how: a clean FIN, or the
 * error (ECONNRESET) the client saw.
 */
export class RawConnection {
  readonly socket: Socket;
  readonly ended: Promise<{ clean: boolean; error?: string }>;
  #buffer = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #finished = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#waiting?.();
    });
    this.ended = new Promise((resolve) => {
      let error: string | undefined;
      this.socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      this.socket.on('close', () => {
        this.#finished = true;
        this.#waiting?.();
        resolve(error === undefined ? { clean: true } : { clean: false, error });
      });
    });
  }

  static async open(port: number): Promise<RawConnection> {
    const connection = new RawConnection(port);
    await new Promise<void>((resolve, reject) => connection.socket.once('connect', resolve).once('error', reject));
    return connection;
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** The next complete response; rejects if the connection ends first. */
  async next(): Promise<RawAnswer> {
    for (;;) {
      const answer = this.#parse();
      if (answer !== undefined) return answer;
      if (this.#finished)
        throw new Error(`connection ended before a complete response: ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  /**
   * Everything not read yet, once the peer has closed: the answers of a connection the gateway ends. A reset
   * after the answer counts as closed; any other error rejects.
   */
  async readToEnd(): Promise<string> {
    const end = await this.ended;
    if (end.error !== undefined && end.error !== 'ECONNRESET') throw new Error(`connection failed: ${end.error}`);
    return this.#buffer.toString('latin1');
  }

  close(): void {
    this.socket.destroy();
  }

  #parse(): RawAnswer | undefined {
    const text = this.#buffer.toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
    if (status === 100) {
      this.#buffer = this.#buffer.subarray(headEnd + 4);
      return this.#parse();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (text.length < headEnd + 4 + length) return undefined;
    this.#buffer = this.#buffer.subarray(headEnd + 4 + length);
    return { status, headers, body: text.slice(headEnd + 4, headEnd + 4 + length) };
  }
}
