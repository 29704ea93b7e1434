import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { CostReport, ReportedCost } from '../routing/endpoint.js';
import { DecoratorHandler } from './decorator-handler.js';
import { hasContentCoding } from './response-filter-handler.js';

/** What the client was sent and what the backend said the query cost; filled in as the response passes. */
export interface ResponseCost {
  /** Body bytes sent on to the client (after the statistics were removed, where they were). */
  bytes: number;
  /** The backend's figures, when its answer carried them (`undefined`: it did not, or they were unreadable). */
  reported: ReportedCost | undefined;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

enum State {
  /** Looking for the member's name in the body. */
  Searching,
  /** Inside the member's object, finding its end. */
  InMember,
  /** Found (or given up, or nothing to find): the rest passes as it comes. */
  Passing,
}

/**
 * Reads what a query cost on the response path (the row's `EndpointQuery.reports`) and counts the bytes the
 * client is sent. Two modes:
 *
 * - **read**: the body streams on untouched; the member's object (`"stats":{…}`) is copied as it passes.
 * - **strip** (the gateway added the ask parameter): the member and its leading comma are removed from the
 *   body, so the client gets exactly the JSON it asked for. Only the last few bytes of each chunk (a name split
 *   over two chunks) and the member itself are held; the result streams. The length changes, so the
 *   upstream's `content-length` is dropped (chunked).
 *
 * The member is found with `Buffer.indexOf` on each chunk: inside a JSON string a quote is escaped, so
 * `"stats":{` can only be a member name, and the APIs put it after their result. Its end is found by counting
 * braces outside strings. A member longer than `maxBytes` is given up (read: not reported; strip: sent as it
 * came), so memory stays bounded. Only 2xx answers without a content coding are read; others pass untouched.
 */
export class CostReadingHandler extends DecoratorHandler {
  readonly #report: CostReport;
  readonly #cost: ResponseCost;
  readonly #strip: boolean;
  readonly #maxBytes: number;
  readonly #pattern: Buffer | undefined;
  #state = State.Passing;
  /** read: the previous chunk's last bytes (already sent); strip: the same bytes, held. */
  #tail: Buffer | undefined = undefined;
  #member: Buffer[] = [];
  #memberBytes = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(next: Dispatcher.DispatchHandler, report: CostReport, cost: ResponseCost, strip: boolean, maxBytes: number) {
    super(next);
    this.#report = report;
    this.#cost = cost;
    this.#maxBytes = maxBytes;
    const member = report.body?.member;
    this.#strip = strip && member !== undefined;
    this.#pattern = member === undefined ? undefined : Buffer.from(`${this.#strip ? ',' : ''}"${member}":{`);
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    const ok = statusCode >= 200 && statusCode < 300;
    if (ok && this.#report.header !== undefined) this.#readHeader(headers[this.#report.header.name]);
    if (ok && this.#pattern !== undefined && !hasContentCoding(headers['content-encoding'])) {
      this.#state = State.Searching;
      if (this.#strip) headers = withoutLength(headers);
    }
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#state === State.Passing) {
      this.#send(controller, chunk);
    } else if (this.#strip) {
      this.#stripChunk(controller, chunk);
    } else {
      this.#readChunk(chunk);
      this.#send(controller, chunk);
    }
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.#strip && this.#state === State.Searching && this.#tail !== undefined) this.#send(controller, this.#tail);
    if (this.#strip && this.#state === State.InMember) this.#giveUp(controller);
    this.#tail = undefined;
    this.#member = [];
    this.next.onResponseEnd?.(controller, trailers);
  }

  #send(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#cost.bytes += chunk.length;
    this.next.onResponseData?.(controller, chunk);
  }

  /** Where the member's `{` is in `chunk` (-1: not here), and where its name began in the held tail, if there. */
  #find(chunk: Buffer): { brace: number; start: number } | undefined {
    const pattern = this.#pattern as Buffer;
    const tail = this.#tail;
    if (tail !== undefined) {
      const joint = Buffer.concat([tail, chunk.subarray(0, pattern.length - 1)]);
      const at = joint.indexOf(pattern);
      // A match wholly in the tail was found with the previous chunk: this one spans the boundary.
      if (at !== -1) return { brace: at + pattern.length - 1 - tail.length, start: at - tail.length };
    }
    const at = chunk.indexOf(pattern);
    return at === -1 ? undefined : { brace: at + pattern.length - 1, start: at };
  }

  #keepTail(chunk: Buffer): Buffer {
    const keep = (this.#pattern as Buffer).length - 1;
    if (chunk.length >= keep) {
      this.#tail = chunk.subarray(chunk.length - keep);
      return chunk.subarray(0, chunk.length - keep);
    }
    // A chunk shorter than the name: held together with what was held.
    const joined = this.#tail === undefined ? chunk : Buffer.concat([this.#tail, chunk]);
    this.#tail = joined.subarray(Math.max(0, joined.length - keep));
    return joined.subarray(0, Math.max(0, joined.length - keep));
  }

  #readChunk(chunk: Buffer): void {
    let from = 0;
    if (this.#state === State.Searching) {
      const found = this.#find(chunk);
      if (found === undefined) {
        this.#keepTail(chunk);
        return;
      }
      this.#state = State.InMember;
      this.#tail = undefined;
      from = found.brace;
    }
    const end = this.#scan(chunk, from);
    if (this.#state === State.Passing) return;
    if (end === -1 && this.#memberBytes > this.#maxBytes) {
      this.#state = State.Passing;
      this.#member = [];
    }
  }

  #stripChunk(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#state === State.Searching) {
      const found = this.#find(chunk);
      if (found === undefined) {
        const tail = this.#tail;
        const ready = this.#keepTail(chunk);
        // What was held before this chunk, unless the short-chunk path joined it already.
        if (tail !== undefined && chunk.length >= (this.#pattern as Buffer).length - 1) this.#send(controller, tail);
        this.#send(controller, ready);
        return;
      }
      const tail = this.#tail ?? Buffer.alloc(0);
      // Everything before the name goes on; the name itself is held with the member in case it is given up.
      if (found.start < 0) {
        this.#send(controller, tail.subarray(0, tail.length + found.start));
        this.#member.push(tail.subarray(tail.length + found.start));
      } else {
        this.#send(controller, tail);
        this.#send(controller, chunk.subarray(0, found.start));
      }
      this.#tail = undefined;
      this.#state = State.InMember;
      const prefix = chunk.subarray(Math.max(0, found.start), found.brace);
      this.#member.push(prefix);
      this.#memberBytes += prefix.length;
      chunk = chunk.subarray(found.brace);
    }
    const end = this.#scan(chunk, 0);
    if (end !== -1) {
      this.#member = [];
      this.#send(controller, chunk.subarray(end));
      return;
    }
    if (this.#memberBytes > this.#maxBytes) this.#giveUp(controller);
  }

  /**
   * Counts braces from `from` and copies the member's bytes; at its end parses and reads it, and returns the
   * offset just after it (-1: not in this chunk).
   */
  #scan(chunk: Buffer, from: number): number {
    for (let i = from; i < chunk.length; i += 1) {
      const byte = chunk[i] as number;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) this.#inString = false;
      } else if (byte === QUOTE) {
        this.#inString = true;
      } else if (byte === OPEN_BRACE) {
        this.#depth += 1;
      } else if (byte === CLOSE_BRACE && (this.#depth -= 1) === 0) {
        this.#member.push(chunk.subarray(from, i + 1));
        this.#readMember();
        this.#state = State.Passing;
        return i + 1;
      }
    }
    this.#member.push(chunk.subarray(from));
    this.#memberBytes += chunk.length - from;
    return -1;
  }

  #readMember(): void {
    const text = Buffer.concat(this.#member).toString('utf8');
    const object = text.slice(text.indexOf('{'));
    try {
      this.#merge((this.#report.body as NonNullable<CostReport['body']>).read(JSON.parse(object)));
    } catch {
      // Unreadable statistics are not reported; the answer itself is the client's business.
    }
  }

  #readHeader(value: string | string[] | undefined): void {
    const text = Array.isArray(value) ? value.join(',') : value;
    if (text !== undefined) this.#merge((this.#report.header as NonNullable<CostReport['header']>).read(text));
  }

  #merge(cost: ReportedCost): void {
    if (Object.keys(cost).length > 0) this.#cost.reported = { ...this.#cost.reported, ...cost };
  }

  /** The member did not end within `maxBytes` (or at all): what was held goes on as it came. */
  #giveUp(controller: Dispatcher.DispatchController): void {
    const held = this.#member;
    this.#member = [];
    this.#state = State.Passing;
    for (const part of held) this.#send(controller, part);
  }
}

function withoutLength(upstream: IncomingHttpHeaders): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const name in upstream) if (name !== 'content-length') headers[name] = upstream[name];
  return headers;
}
