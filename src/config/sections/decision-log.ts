import { z } from 'zod';
import { durationMs } from '../duration.js';

/**
 * `[decision_log]`: one record per request decision, to its own sink, separate from the access log
 * (docs/decisions.md). Off unless the section is present.
 * ```toml
 * [decision_log]
 * sink = "file"                       # or "stdout", or "otlp" (below)
 * path = "/var/log/scopegate/decisions.jsonl"
 * max_bytes = 104857600               # rotate past this size (a checkpoint closes the file)
 * max_files = 10                      # rotated files kept (decisions.jsonl.1 … .10)
 * fsync = "interval"                  # "always" (each batch), "interval", "never" (the OS decides)
 * fsync_interval = "1s"
 * queries = "text"                    # "sha256": digests only; "none": left out
 * on_overflow = "drop"                # or "fail_closed": 503 decision_log_unavailable while it cannot record
 * max_queue = 10000                   # records waiting for the disk before on_overflow applies
 * checkpoint_key_file = "/etc/scopegate/decision-log.key"   # HMAC-SHA256 of each rotation checkpoint
 * ```
 * `sink = "otlp"`: OTLP/HTTP JSON logs to a collector (otlp-sink.ts), instead of `path`:
 * ```toml
 * otlp_endpoint = "http://otel-collector:4318/v1/logs"
 * headers = { authorization = "Bearer ${COLLECTOR_TOKEN}" }
 * service_name = "scopegate"          # the resource's service.name (Loki: the service_name label)
 * batch_size = 512                    # records per export request
 * batch_interval = "1s"               # longest a record waits for its batch
 * timeout = "10s"                     # per export request
 * retry_backoff = "1s"                # first retry delay on 429/5xx/no answer, doubling to 30s (Retry-After wins)
 * ```
 */
const OTLP_KEYS = ['otlp_endpoint', 'headers', 'service_name', 'batch_size', 'batch_interval', 'timeout', 'retry_backoff'] as const;

export const decisionLogSchema = z
  .strictObject({
    sink: z.enum(['file', 'stdout', 'otlp']).default('file'),
    path: z.string().min(1).optional(),
    max_bytes: z
      .int()
      .min(4096)
      .default(100 * 1024 * 1024),
    max_files: z.int().min(1).max(1000).default(10),
    fsync: z.enum(['always', 'interval', 'never']).default('interval'),
    fsync_interval: durationMs.prefault('1s'),
    queries: z.enum(['text', 'sha256', 'none']).default('text'),
    on_overflow: z.enum(['drop', 'fail_closed']).default('drop'),
    max_queue: z.int().min(1).default(10_000),
    checkpoint_key_file: z.string().min(1).optional(),
    otlp_endpoint: z
      .url({ protocol: /^https?$/, error: "must be an http or https URL (the collector's logs URL, http://otel-collector:4318/v1/logs)" })
      .optional(),
    headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not an HTTP header name'), z.string()).optional(),
    service_name: z.string().min(1).optional(),
    batch_size: z.int().min(1).max(10_000).optional(),
    batch_interval: durationMs.optional(),
    timeout: durationMs.optional(),
    retry_backoff: durationMs.optional(),
  })
  .superRefine((section, ctx) => {
    if (section.sink === 'otlp') {
      if (section.otlp_endpoint === undefined)
        ctx.addIssue({ code: 'custom', path: ['otlp_endpoint'], message: 'sink = "otlp" needs otlp_endpoint (the collector\'s logs URL)' });
      if (section.path !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'sink = "otlp" takes no path' });
      if (section.checkpoint_key_file !== undefined)
        ctx.addIssue({ code: 'custom', path: ['checkpoint_key_file'], message: 'sink = "otlp" has no chain to checkpoint' });
      return;
    }
    for (const key of OTLP_KEYS) {
      if (section[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `only for sink = "otlp" (sink is "${section.sink}")` });
    }
    if (section.sink === 'file' && section.path === undefined)
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'sink = "file" needs a path' });
    if (section.sink === 'stdout' && section.path !== undefined)
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'sink = "stdout" takes no path' });
  });

export type DecisionLogSection = z.infer<typeof decisionLogSchema>;

/** `sink = "otlp"`'s settings with their defaults filled in. */
export interface OtlpSinkSettings {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  readonly timeoutMs: number;
  readonly retryBackoffMs: number;
  readonly maxQueue: number;
}

export function otlpSinkSettings(section: DecisionLogSection): OtlpSinkSettings {
  return {
    endpoint: section.otlp_endpoint as string,
    headers: section.headers ?? {},
    serviceName: section.service_name ?? 'scopegate',
    batchSize: section.batch_size ?? 512,
    batchIntervalMs: section.batch_interval ?? 1000,
    timeoutMs: section.timeout ?? 10_000,
    retryBackoffMs: section.retry_backoff ?? 1000,
    maxQueue: section.max_queue,
  };
}
