import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CannedAnswer } from './cases.js';

/** One request as the upstream received it: what the gateway sent, after every rewrite and header rule. */
export interface CapturedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * The upstream of `scopegate test`: a real HTTP server on 127.0.0.1:0 that every configured upstream (and
 * component) points at, so requests leave the gateway exactly as `serve` sends them (pool, headers, SigV4)
 * and are captured here instead of reaching a backend. Answers come from the running case (look-ups such as
 * series or silences, and the forwarded request), else 200 `{"status":"success","data":[]}`.
 */
export interface CaptureUpstream {
  readonly url: string;
  /** Every request received with this X-Request-Id, in order. */
  received(requestId: string): readonly CapturedRequest[];
  /** The answers for the next requests (one case's `upstream`). */
  answerWith(answers: readonly CannedAnswer[]): void;
  close(): Promise<void>;
}

const DEFAULT_BODY = '{"status":"success","data":[]}';

export async function startCaptureUpstream(): Promise<CaptureUpstream> {
  const byRequestId = new Map<string, CapturedRequest[]>();
  let answers: readonly CannedAnswer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const captured: CapturedRequest = {
        method: req.method ?? '',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const id = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : '';
      const list = byRequestId.get(id) ?? [];
      list.push(captured);
      byRequestId.set(id, list);
      answer(res, pickAnswer(answers, captured.url));
    });
  });
  // No keep-alive between cases: each case's requests are independent of the previous case's sockets.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: (requestId) => byRequestId.get(requestId) ?? [],
    answerWith(next) {
      answers = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The answer naming the request's path, else the one naming no path, else the default. */
function pickAnswer(answers: readonly CannedAnswer[], url: string): CannedAnswer | undefined {
  const path = url.split('?')[0];
  return answers.find((a) => a.path === path) ?? answers.find((a) => a.path === undefined);
}

function answer(res: ServerResponse, canned: CannedAnswer | undefined): void {
  if (canned === undefined) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(DEFAULT_BODY);
    return;
  }
  const body = canned.body === undefined ? '' : typeof canned.body === 'string' ? canned.body : JSON.stringify(canned.body);
  const headers: Record<string, string> = { ...canned.headers };
  if (typeof canned.body === 'object' && canned.body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  res.writeHead(canned.status, headers);
  res.end(body);
}
