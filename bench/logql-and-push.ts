import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { enforceLogQuery } from '../src/enforce/logql/enforce.js';
import { enforceLokiPush, type LokiPushInput } from '../src/enforce/write/loki-push.js';
import snappy from 'snappyjs';
import { decodeProtoPush, encodeProtoPush } from '../src/enforce/write/loki-push-proto.js';
import { buildLabelPolicy, type LabelPolicy } from '../src/policy/label-policy.js';

/**
 * In-process throughput of the Loki enforcers: LogQL rewrites per second over realistic queries, and push
 * validation (streams/s, MB/s of request body) for JSON and snappy protobuf. Each row has its floor beside
 * it — parsing and re-serialising the same body without any policy work — so the cost of the check itself
 * is visible in the same run. Run alone: `node --import tsx bench/logql-and-push.ts [--json] [--seconds 1]`;
 * bench/run.ts can import `runLogqlAndPushBench()`.
 */

export interface BenchRow {
  readonly name: string;
  readonly opsPerSecond: number;
  /** Push rows: streams validated per second and request-body megabytes per second. */
  readonly streamsPerSecond?: number;
  readonly mbPerSecond?: number;
}

const QUERIES = [
  '{app="api"} |= "error"',
  '{app="api", env="prod"} | json | status >= 500 | line_format "{{.method}} {{.path}}"',
  'sum by (status) (rate({app="api"} | logfmt | unwrap duration_ms [5m]))',
  'topk(10, sum by (path) (count_over_time({app=~"api|web"} |~ "timeout|refused" [1h])))',
  'sum(rate({app="api"}[1m])) / sum(rate({app="api"} |= "error" [1m])) or vector(0)',
  'quantile_over_time(0.99, {app="api"} | json | unwrap latency [5m]) by (pod)',
];

const POLICIES: { name: string; policy: LabelPolicy }[] = [
  { name: 'one namespace', policy: buildLabelPolicy({ values: ['team-a'] })! },
  { name: 'regex + extra label', policy: buildLabelPolicy({ values: ['team-a', 'team-b-.*'], labels: { cluster: 'eu-1' } })! },
];

/** Runs `step` repeatedly for `seconds` (after a quarter of that as warm-up); returns calls per second. */
function measure(seconds: number, step: () => void): number {
  const warmUpUntil = performance.now() + seconds * 250;
  while (performance.now() < warmUpUntil) step();
  let calls = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 16; i++) step();
    calls += 16;
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

interface PushBody {
  readonly name: string;
  readonly input: LokiPushInput;
  readonly streams: number;
  readonly floorName: string;
  readonly floor: () => void;
  /** Other ways of doing the same work, measured in the same run. */
  readonly rivals: readonly { readonly name: string; readonly run: () => void }[];
}

/** A typical agent batch: `streams` streams of `lines` log lines each, every stream inside the policy. */
function buildPushBodies(streams: number, lines: number): PushBody[] {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const labelSets = Array.from({ length: streams }, (_, i) => ({
    namespace: 'team-a',
    app: `app-${i % 7}`,
    pod: `pod-${i}`,
    container: 'main',
  }));
  const line = (i: number) =>
    `level=info ts=2024-01-01T00:00:00Z caller=handler.go:${i} msg="request served" status=200 duration_ms=${i % 97}`;
  const json = Buffer.from(
    JSON.stringify({
      streams: labelSets.map((stream) => ({
        stream,
        values: Array.from({ length: lines }, (_, i) => [String(nowNs + BigInt(i)), line(i)]),
      })),
    }),
  );
  const entries = Array.from({ length: lines }, (_, i) => ({
    timestamp: { seconds: String((Date.now() / 1000) | 0), nanos: i },
    line: Buffer.from(line(i)),
  }));
  const labelsText = (l: Record<string, string>) =>
    `{${Object.keys(l)
      .sort()
      .map((k) => `${k}="${l[k]}"`)
      .join(', ')}}`;
  const proto = encodeProtoPush({ streams: labelSets.map((l) => ({ labels: labelsText(l), entries })), format: '' });
  const injectProto = encodeProtoPush({
    streams: labelSets.map(({ namespace: _ns, ...l }) => ({ labels: labelsText(l), entries })),
    format: '',
  });
  return [
    {
      name: 'json',
      input: { body: json, contentType: 'application/json', contentEncoding: undefined },
      streams,
      floorName: 'JSON.parse + stringify only',
      floor: () => void Buffer.from(JSON.stringify(JSON.parse(json.toString('utf8')))),
      rivals: [],
    },
    {
      name: 'protobuf',
      input: { body: proto, contentType: 'application/x-protobuf', contentEncoding: undefined },
      streams,
      // Full access forwards the body without decoding it; the floor of a check is reading the body at all.
      floorName: 'snappy uncompress only',
      floor: () => void snappy.uncompress(proto),
      rivals: [
        // The previous implementation's core: protobufjs decode and re-encode + snappy, no label work.
        {
          name: 'protobufjs decode + re-encode + snappy (no label check)',
          run: () => void encodeProtoPush(decodeProtoPush(proto, 64 << 20)),
        },
        {
          name: 'inject mode, every stream rebuilt',
          run: () =>
            void enforceLokiPush(
              { body: injectProto, contentType: 'application/x-protobuf', contentEncoding: undefined },
              POLICIES[0]!.policy,
              { mode: 'inject', maxDecodedBytes: 64 << 20 },
            ),
        },
      ],
    },
  ];
}

export function runLogqlAndPushBench(seconds = 1): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const { name, policy } of POLICIES) {
    let i = 0;
    const ops = measure(seconds, () => void enforceLogQuery(QUERIES[i++ % QUERIES.length] as string, policy));
    rows.push({ name: `logql rewrite (${name}, ${QUERIES.length} queries round-robin)`, opsPerSecond: ops });
  }
  const policy = POLICIES[0]!.policy;
  for (const body of buildPushBodies(100, 10)) {
    const bytes = body.input.body.length;
    const check = measure(seconds, () => void enforceLokiPush(body.input, policy, { mode: 'reject', maxDecodedBytes: 64 << 20 }));
    rows.push({
      name: `push ${body.name} validate (100 streams × 10 lines, ${(bytes / 1024).toFixed(0)} KiB)`,
      opsPerSecond: check,
      streamsPerSecond: check * body.streams,
      mbPerSecond: (check * bytes) / 1e6,
    });
    const floor = measure(seconds, body.floor);
    rows.push({
      name: `push ${body.name} floor (${body.floorName})`,
      opsPerSecond: floor,
      streamsPerSecond: floor * body.streams,
      mbPerSecond: (floor * bytes) / 1e6,
    });
    for (const rival of body.rivals) {
      const ops = measure(seconds, rival.run);
      rows.push({
        name: `push ${body.name} ${rival.name}`,
        opsPerSecond: ops,
        streamsPerSecond: ops * body.streams,
        mbPerSecond: (ops * bytes) / 1e6,
      });
    }
  }
  return rows;
}

function formatRow(row: BenchRow): string {
  const extra =
    row.streamsPerSecond === undefined
      ? ''
      : `  ${Math.round(row.streamsPerSecond).toLocaleString('en')} streams/s  ${row.mbPerSecond?.toFixed(1)} MB/s`;
  return `${row.name.padEnd(78)} ${Math.round(row.opsPerSecond).toLocaleString('en').padStart(10)} ops/s${extra}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, seconds: { type: 'string', default: '1' } } });
  const rows = runLogqlAndPushBench(Number(values.seconds));
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${rows.map(formatRow).join('\n')}\n`);
}
