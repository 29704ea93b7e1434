import { request, type Dispatcher } from 'undici';

/** A Retry-After is honoured up to this. */
const MAX_RETRY_AFTER_MS = 300_000;

export interface ExportTarget {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
}

/**
 * What became of one export (OTLP/HTTP "Failures"): `accepted` (2xx, with the records a partial success
 * rejected), `retry` (429, 5xx, or no answer: refused, reset, timed out), `refused` (another status: this
 * export will never be accepted).
 */
export type ExportOutcome =
  | { readonly kind: 'accepted'; readonly rejected: number }
  | { readonly kind: 'retry'; readonly retryAfter: string | string[] | undefined; readonly error: Error }
  | { readonly kind: 'refused'; readonly status: number; readonly answer: string };

/** POSTs one `ExportLogsServiceRequest`'s JSON to the collector; `done` once with the outcome. */
export function postExport(target: ExportTarget, body: string, done: (outcome: ExportOutcome) => void): void {
  request(target.endpoint, {
    method: 'POST',
    headers: target.headers,
    body,
    dispatcher: target.dispatcher,
    headersTimeout: target.timeoutMs,
    bodyTimeout: target.timeoutMs,
    signal: AbortSignal.timeout(target.timeoutMs),
  })
    .then(async (response) => {
      const text = await response.body.text();
      done(outcomeOf(response.statusCode, response.headers['retry-after'], text));
    })
    .catch((error: unknown) =>
      done({ kind: 'retry', retryAfter: undefined, error: error instanceof Error ? error : new Error(String(error)) }),
    );
}

function outcomeOf(status: number, retryAfter: string | string[] | undefined, text: string): ExportOutcome {
  if (status === 429 || status >= 500) return { kind: 'retry', retryAfter, error: new Error(`the collector answered ${status}`) };
  if (status >= 200 && status < 300) return { kind: 'accepted', rejected: rejectedRecords(text) };
  return { kind: 'refused', status, answer: text.slice(0, 200) };
}

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** ExportLogsServiceResponse's `partialSuccess.rejectedLogRecords` (an int64: a string, or a number). */
function rejectedRecords(text: string): number {
  if (!text.includes('rejected')) return 0;
  try {
    const parsed = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: unknown } };
    const rejected = Number(parsed.partialSuccess?.rejectedLogRecords ?? 0);
    return Number.isSafeInteger(rejected) && rejected > 0 ? rejected : 0;
  } catch {
    return 0;
  }
}
