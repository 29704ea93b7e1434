// The decision log's own CPU per record, in process (issue #21): what `[decision_log]` adds to a request
// (build the record, serialise, hash-chain, queue, and the batched fs.write), measured over many records with
// `process.cpuUsage()`, writes batched as under load: `--batch` records end together, then the loop yields so
// the pending write completes. Compare with a small GET's CPU in the bench (README: 84–142 µs/req).
//   node --import tsx bench/decision-log-record.ts [--records 200000] [--batch 16] [--queries text|sha256]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentity } from '../src/identity/identity.js';
import { createLogger } from '../src/observability/logger.js';
import { openDecisionLog } from '../src/observability/decision-log/open.js';
import { buildLabelPolicy } from '../src/policy/label-policy.js';
import { createDecisionRecorder } from '../src/server/record-decision.js';
import type { RequestContext } from '../src/server/request-context.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : (process.argv[at + 1] as string);
}

const records = Number(flag('records', '200000'));
const batch = Number(flag('batch', '16'));
const queries = flag('queries', 'text') as 'text' | 'sha256';
const dir = await mkdtemp(join(tmpdir(), 'scopegate-decision-record-'));
const log = await openDecisionLog(
  {
    sink: 'file',
    path: join(dir, 'decisions.jsonl'),
    max_bytes: 100 * 1024 * 1024,
    max_files: 2,
    fsync: 'interval',
    fsync_interval: 1000,
    queries,
    on_overflow: 'drop',
    max_queue: 1_000_000,
  },
  { logger: createLogger({ level: 'silent' }), now: () => Date.now() },
);
const recorder = createDecisionRecorder(log, { queries, failClosed: false, now: () => Date.now() });
const identity = createIdentity({
  subject: 'team-a',
  tenants: ['team-a'],
  policy: buildLabelPolicy({ values: ['team-a'] }),
  authenticator: 'static-token',
});

/** A small GET's context as the pipeline leaves it (prometheus.query, one limit rule). */
function context(n: number): RequestContext {
  return {
    id: `0b7e4b8e-4c1f-4a55-9f59-${String(n).padStart(12, '0')}`,
    startMs: performance.now(),
    log: undefined as never,
    trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } as RequestContext['trace'],
    signal: undefined as never,
    subject: identity.subject,
    authenticator: identity.authenticator,
    identity,
    tenant: 'team-a',
    upstream: 'prometheus',
    endpoint: 'prometheus.query',
    path: '/api/v1/query',
    limitRules: ['per-token'],
    queryParams: ['query'],
    receivedQuery: 'query=up',
    outgoing: { method: 'GET', path: '/api/v1/query', query: 'query=up%7Bnamespace%3D%22team-a%22%7D', headers: {}, body: undefined },
  };
}

const contexts = Array.from({ length: batch }, (_, i) => context(i));
// --baseline: the loop alone (no record), to subtract what the harness itself costs.
const baseline = process.argv.includes('--baseline');
const run = async (count: number): Promise<number> => {
  const before = process.cpuUsage();
  for (let done = 0; done < count; done += batch) {
    if (!baseline) for (const ctx of contexts) recorder.record(ctx, 'GET', 200, 212);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await log.flushed();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
};
await run(20_000); // warm-up
const results: number[] = [];
for (let round = 0; round < 5; round++) results.push(await run(records));
results.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({ records, batch, queries, baseline, microsPerRecord: results.map((r) => Number(r.toFixed(2))), median: results[2] })}\n`,
);
await log.close();
await rm(dir, { recursive: true, force: true });
