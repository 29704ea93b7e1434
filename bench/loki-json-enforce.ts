import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { medianCpuMicros } from './cpu-median.js';
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

/** Median CPU µs per call of each case over `rounds` interleaved rounds of ~`millisPerRound` each. */
function measure(cases: readonly Case[], rounds: number, millisPerRound: number): { name: string; micros: number }[] {
  const medians = medianCpuMicros(
    cases.map((c) => c.run),
    rounds,
    millisPerRound,
    10,
  );
  return cases.map((c, index) => ({ name: c.name, micros: medians[index] as number }));
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
