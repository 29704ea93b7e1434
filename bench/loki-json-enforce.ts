import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { enforceLokiPush } from '../src/enforce/write/loki-push.js';
import { buildLabelPolicy, type LabelPolicy } from '../src/policy/label-policy.js';
import { lokiPushBodies, WRITE_NAMESPACE } from './write-bodies.js';

/**
 * In-process CPU cost of the Loki JSON push check against `JSON.parse` of the same body (issue 19's floor), one
 * core: CPU time (process.cpuUsage) per request, cases interleaved round by round, medians over rounds. The push
 * is bench/write-bodies.ts' 200 streams × 50 lines (1.56 MB), checked against the one-namespace policy in check
 * (`reject`) mode, where every stream already carries the namespace, and in `inject` mode on the same push
 * without its namespace label. `--baseline <dir>` runs the same cases with another checkout's loki-push.ts in the
 * same rounds.
 *
 * Run alone: `node --import tsx bench/loki-json-enforce.ts [--rounds 9] [--baseline dir]`.
 */

type EnforceLoki = typeof enforceLokiPush;

interface Case {
  readonly name: string;
  readonly run: () => void;
}

const POLICY = buildLabelPolicy({ values: [WRITE_NAMESPACE] }) as LabelPolicy;

/** The bench's push, and the same push with no `namespace` label on any stream (what inject mode completes). */
function bodies(): { readonly check: Buffer; readonly inject: Buffer } {
  const check = lokiPushBodies(200, 50).json;
  const push = JSON.parse(check.toString('utf8')) as { streams: { stream: Record<string, string> }[] };
  for (const stream of push.streams) delete stream.stream.namespace;
  return { check, inject: Buffer.from(JSON.stringify(push)) };
}

function enforceCases(enforce: EnforceLoki, label: string): Case[] {
  const { check, inject } = bodies();
  const run = (body: Buffer, mode: 'reject' | 'inject') => () =>
    void enforce({ body, contentType: 'application/json', contentEncoding: undefined }, POLICY, { mode, maxDecodedBytes: 64 << 20 });
  return [
    { name: `${label}check (every stream allowed as sent)`, run: run(check, 'reject') },
    { name: `${label}inject (namespace added to every stream)`, run: run(inject, 'inject') },
  ];
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Median CPU µs per call of each case over `rounds` interleaved rounds of ~`millisPerRound` each. */
function measure(cases: readonly Case[], rounds: number, millisPerRound: number): { name: string; micros: number }[] {
  const perRound: number[][] = cases.map(() => []);
  for (const c of cases) for (let i = 0; i < 10; i++) c.run();
  for (let round = 0; round < rounds; round++) {
    cases.forEach((c, index) => {
      const start = cpuMicros();
      const deadline = performance.now() + millisPerRound;
      let n = 0;
      while (performance.now() < deadline) {
        c.run();
        n++;
      }
      perRound[index]?.push((cpuMicros() - start) / n);
    });
  }
  return cases.map((c, index) => {
    const sorted = (perRound[index] as number[]).sort((x, y) => x - y);
    return { name: c.name, micros: sorted[Math.floor(sorted.length / 2)] as number };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, baseline: { type: 'string' } } });
  const json = bodies().check;
  const cases: Case[] = [{ name: 'floor: JSON.parse of the push', run: () => void JSON.parse(json.toString('utf8')) }];
  cases.push(...enforceCases(enforceLokiPush, ''));
  if (values.baseline !== undefined) {
    const url = pathToFileURL(`${values.baseline}/src/enforce/write/loki-push.ts`).href;
    cases.push(...enforceCases(((await import(url)) as { enforceLokiPush: EnforceLoki }).enforceLokiPush, 'baseline: '));
  }
  const rows = measure(cases, Number(values.rounds), 250);
  const floor = rows[0]?.micros ?? 1;
  process.stdout.write(`push: ${json.length} bytes\n`);
  for (const row of rows)
    process.stdout.write(
      `${row.name.padEnd(56)} ${row.micros.toFixed(0).padStart(7)} µs CPU/req  ${(row.micros / floor).toFixed(2)}× JSON.parse\n`,
    );
}
