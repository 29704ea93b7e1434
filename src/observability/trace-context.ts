import { randomFillSync } from 'node:crypto';

/** The W3C trace context of one request as it leaves the gateway. */
export interface TraceContext {
  /** 32 lower-case hex digits: logged on the access line, so gateway and upstream logs join on it. */
  readonly traceId: string;
  /** The `traceparent` sent upstream: the caller's trace, with the gateway's hop as the new parent. */
  readonly traceparent: string;
}

// W3C Trace Context §3.2: version "00" is exactly four fields; a higher version may append fields, which a
// version-00 reader ignores. Version "ff" is invalid. All-zero trace and parent ids are invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

/**
 * Continues the caller's trace (a valid `traceparent`) or starts one, so every request has a trace id. The
 * gateway records no spans itself; a trace it starts is marked not sampled (flags 00), leaving the sampling
 * decision to the upstream's tracer, and a caller's flags are kept as sent.
 */
export type ContinueTrace = (incoming: string | undefined) => TraceContext;

/** A `ContinueTrace` with its own pool of random bytes for the ids (below): one per tracer, made in createApp. */
export function createTraceContinuer(): ContinueTrace {
  const randomHex = createRandomHex();
  return (incoming) => {
    const parent = parseTraceparent(incoming);
    const spanId = randomHex(8);
    if (parent) return { traceId: parent.traceId, traceparent: `00-${parent.traceId}-${spanId}-${parent.flagsHex}` };
    const traceId = randomHex(16);
    return { traceId, traceparent: `00-${traceId}-${spanId}-00` };
  };
}

/** A caller's `traceparent`, when valid (§3.2); anything else is treated as no parent. */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: number;
  /** The flags as sent, two hex digits. */
  readonly flagsHex: string;
}

export function parseTraceparent(incoming: string | undefined): TraceParent | undefined {
  const match = incoming === undefined ? null : TRACEPARENT.exec(incoming.trim());
  if (!match || !isValid(match)) return undefined;
  const flagsHex = match[4] as string;
  return { traceId: match[2] as string, spanId: match[3] as string, flags: Number.parseInt(flagsHex, 16), flagsHex };
}

function isValid(match: RegExpExecArray): boolean {
  const [, version, traceId, parentId] = match;
  if (version === 'ff' || traceId === ZERO_TRACE || parentId === ZERO_PARENT) return false;
  return version !== '00' || match[5] === undefined;
}

/**
 * `bytes` random bytes as hex, never all zero (an all-zero trace or span id is invalid). One getrandom call per
 * request showed as ~10% of the gateway's CPU: ids are cut from a pooled buffer, refilled from the CSPRNG when
 * used up.
 */
function createRandomHex(): (bytes: number) => string {
  const pool = Buffer.allocUnsafe(4096);
  let offset = pool.length;
  return (bytes) => {
    for (;;) {
      if (offset + bytes > pool.length) {
        randomFillSync(pool);
        offset = 0;
      }
      const hex = pool.toString('hex', offset, offset + bytes);
      offset += bytes;
      if (/[^0]/.test(hex)) return hex;
    }
  };
}
