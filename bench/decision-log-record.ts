// The decision log's own CPU per record, in process (issue #21): what `[decision_log]` adds to a request
// (build the record, serialise, hash-chain, queue, and the batched fs.writev), measured over many records with
// `process.cpuUsage()`, writes batched as under load: `--batch` records end together, then the loop yields so
// the pending write completes. Compare with a small GET's CPU in the bench (`scopegate` row).
// `--against DIR` loads the same modules from another checkout too (its src/, run with tsx) and alternates
// rounds between the two: a before/after in one process.
//   node --import tsx bench/decision-log-record.ts [--records 200000] [--batch 16] [--queries text|sha256] [--against DIR]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestContext } from '../src/server/request-context.js';
import { median } from './cpu-median.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : (process.argv[at + 1] as string);
}

const records = Number(flag('records', '200000'));
const batch = Number(flag('batch', '16'));
const queries = flag('queries', 'text') as 'text' | 'sha256';
const against = flag('against', '');
// --baseline: the loop alone (no record), to subtract what the harness itself costs.
const baseline = process.argv.includes('--baseline');
const dir = await mkdtemp(join(tmpdir(), 'scopegate-decision-record-'));

/** One checkout's recorder and log (its own modules), and a small GET's contexts as its pipeline leaves them. */
async function setup(name: string, src: string) {
  const { createIdentity } = await import(join(src, 'identity/identity.ts'));
  const { createLogger } = await import(join(src, 'observability/logger.ts'));
  const { openDecisionLog } = await import(join(src, 'observability/decision-log/open.ts'));
  const { buildLabelPolicy } = await import(join(src, 'policy/label-policy.ts'));
  const { createDecisionRecorder } = await import(join(src, 'server/record-decision.ts'));
  const section = {
    sink: 'file',
    path: join(dir, `${name}.jsonl`),
    max_bytes: 100 * 1024 * 1024,
    max_files: 2,
    fsync: 'interval',
    fsync_interval: 1000,
    queries,
    on_overflow: 'drop',
    max_queue: 1_000_000,
  };
  const log = await openDecisionLog(section, { logger: createLogger({ level: 'silent' }), now: () => Date.now() });
  const recorder = createDecisionRecorder(log, { queries, failClosed: false, now: () => Date.now() });
  const identity = createIdentity({
    subject: 'team-a',
    tenants: ['team-a'],
    policy: buildLabelPolicy({ values: ['team-a'] }),
    authenticator: 'static-token',
  });
  /** prometheus.query, one limit rule. */
  const context = (n: number): RequestContext => ({
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
  });
  const contexts = Array.from({ length: batch }, (_, i) => context(i));
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
  return { name, log, run, results: [] as number[] };
}

const sides = [await setup('this', fileURLToPath(new URL('../src', import.meta.url)))];
if (against !== '') sides.push(await setup('against', join(against, 'src')));
for (const side of sides) await side.run(20_000); // warm-up
for (let round = 0; round < 5; round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) side.results.push(await side.run(records));
}
const report = Object.fromEntries(
  sides.map((s) => [s.name, { microsPerRecord: s.results.map((r) => Number(r.toFixed(2))), median: Number(median(s.results).toFixed(2)) }]),
);
process.stdout.write(`${JSON.stringify({ records, batch, queries, baseline, ...(against ? { against } : {}), ...report })}\n`);
for (const side of sides) await side.log.close();
await rm(dir, { recursive: true, force: true });
