import { z } from 'zod';
import { durationMs } from '../duration.js';

/**
 * `[decision_log]`: one record per request decision, to its own sink, separate from the access log
 * (docs/decisions.md). Off unless the section is present.
 * ```toml
 * [decision_log]
 * sink = "file"                       # or "stdout"
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
 */
export const decisionLogSchema = z.strictObject({
  sink: z.enum(['file', 'stdout']).default('file'),
  path: z.string().min(1).optional(),
  max_bytes: z.int().min(4096).default(100 * 1024 * 1024),
  max_files: z.int().min(1).max(1000).default(10),
  fsync: z.enum(['always', 'interval', 'never']).default('interval'),
  fsync_interval: durationMs.prefault('1s'),
  queries: z.enum(['text', 'sha256', 'none']).default('text'),
  on_overflow: z.enum(['drop', 'fail_closed']).default('drop'),
  max_queue: z.int().min(1).default(10_000),
  checkpoint_key_file: z.string().min(1).optional(),
}).superRefine((section, ctx) => {
  if (section.sink === 'file' && section.path === undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'sink = "file" needs a path' });
  if (section.sink === 'stdout' && section.path !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'sink = "stdout" takes no path' });
});

export type DecisionLogSection = z.infer<typeof decisionLogSchema>;
