import { pathToFileURL } from 'node:url';
import { medianCpuMicros } from './cpu-median.js';
import { parseArgs } from 'node:util';
import { countRemoteWriteSeries, enforceRemoteWrite, type RemoteWriteOptions } from '../src/enforce/write/remote-write.js';
import { gunzipSync } from 'node:zlib';
import { enforceLokiPush } from '../src/enforce/write/loki-push.js';
import { enforceOtlpTraces } from '../src/enforce/write/otlp-traces.js';
import { uncompressSnappyBlock } from '../src/enforce/write/snappy-block.js';
import { SNAPPY } from '../src/enforce/write/snappy-codec.js';
import { buildLabelPolicy, type LabelPolicy } from '../src/policy/label-policy.js';
import {
  lokiPushBodies,
  otlpTracesBody,
  remoteWriteBody,
  remoteWriteV2Body,
  writeRequestMessage,
  writeRequestV2Message,
  WRITE_NAMESPACE,
} from './write-bodies.js';

/**
 * In-process CPU cost of the write enforcers, one core: CPU time (process.cpuUsage, user + system) per request,
 * series/s and decoded MB/s, for remote write 1.0 (2,000 and 10,000 series × 8 labels, one-namespace policy), inject
 * mode, and the floor beside them (snappy decompression alone). Cases run interleaved, round by round, so a
 * noisy neighbour costs every case alike. `--baseline <dir>` adds the same cases run by another checkout's
 * `src/enforce/write/remote-write.ts` (e.g. the previous commit, `git worktree add /tmp/base HEAD~1`).
 *
 * Run alone: `node --import tsx bench/write-enforce.ts [--rounds 10] [--baseline dir] [--only substring] [--json]`.
 */

type Enforce = (body: Buffer, policy: LabelPolicy, options: RemoteWriteOptions) => { body: Buffer };
type EnforceLoki = typeof enforceLokiPush;

/** The process' snappy decoder (native when the `snappy` package loads), as the enforcers call it. */
const uncompress = (body: Buffer): Buffer => SNAPPY.uncompress(body, 64 << 20, 'body');

export interface WriteEnforceRow {
  readonly name: string;
  readonly series: number;
  readonly decodedBytes: number;
  readonly cpuMicrosPerRequest: number;
  readonly seriesPerSecond: number;
  readonly decodedMBPerSecond: number;
}

interface Case {
  readonly name: string;
  readonly series: number;
  readonly decodedBytes: number;
  readonly run: () => void;
}

const POLICY = buildLabelPolicy({ values: [WRITE_NAMESPACE] }) as LabelPolicy;
const OPTIONS: RemoteWriteOptions = {
  contentType: 'application/x-protobuf',
  contentEncoding: 'snappy',
  injectLabels: false,
  maxDecompressedBytes: 64 << 20,
  acceptsRemoteWrite2: true,
};

function buildCases(enforce: Enforce, label: string, withFloors: boolean, enforceLoki?: EnforceLoki): Case[] {
  const cases: Case[] = [];
  for (const series of [2000, 10000]) {
    const body = remoteWriteBody({ series });
    const decodedBytes = writeRequestMessage({ series }).length;
    cases.push({
      name: `${label}remote write 1.0 check, ${series} series`,
      series,
      decodedBytes,
      run: () => void enforce(body, POLICY, OPTIONS),
    });
    if (withFloors)
      cases.push({
        name: `floor: snappy decompression (${SNAPPY.name}), ${series} series`,
        series,
        decodedBytes,
        run: () => void uncompress(body),
      });
    if (withFloors && SNAPPY.name === 'native')
      cases.push({
        name: `floor: snappy decompression (js), ${series} series`,
        series,
        decodedBytes,
        run: () => void uncompressSnappyBlock(body, 64 << 20, 'body'),
      });
  }
  const missing = remoteWriteBody({ series: 2000, withoutNamespace: true });
  const missingBytes = writeRequestMessage({ series: 2000, withoutNamespace: true }).length;
  cases.push({
    name: `${label}remote write 1.0 inject, 2000 series`,
    series: 2000,
    decodedBytes: missingBytes,
    run: () => void enforce(missing, POLICY, { ...OPTIONS, injectLabels: true }),
  });
  const v2 = remoteWriteV2Body({ series: 2000 });
  const v2Bytes = writeRequestV2Message({ series: 2000 }).length;
  const v2Options = { ...OPTIONS, contentType: 'application/x-protobuf;proto=io.prometheus.write.v2.Request' };
  cases.push({
    name: `${label}remote write 2.0 check, 2000 series`,
    series: 2000,
    decodedBytes: v2Bytes,
    run: () => void enforce(v2, POLICY, v2Options),
  });
  if (!withFloors) {
    if (enforceLoki !== undefined) cases.push(lokiProtoCase(enforceLoki, label));
    return cases;
  }
  const body = remoteWriteBody({ series: 2000 });
  const bytes = writeRequestMessage({ series: 2000 }).length;
  cases.push({
    name: 'max_series count, remote write 1.0, 2000 series',
    series: 2000,
    decodedBytes: bytes,
    run: () => void countRemoteWriteSeries(body, undefined, 64 << 20),
  });
  cases.push({
    name: `floor: snappy decompression (${SNAPPY.name}), 2.0, 2000 series`,
    series: 2000,
    decodedBytes: v2Bytes,
    run: () => void uncompress(v2),
  });
  const v2Missing = remoteWriteV2Body({ series: 2000, withoutNamespace: true });
  cases.push({
    name: 'remote write 2.0 inject, 2000 series',
    series: 2000,
    decodedBytes: v2Bytes,
    run: () => void enforce(v2Missing, POLICY, { ...v2Options, injectLabels: true }),
  });
  cases.push(...otherWriteCases());
  return cases;
}

function lokiProtoCase(enforceLoki: EnforceLoki, label: string): Case {
  const loki = lokiPushBodies(200, 50);
  const input = { body: loki.proto, contentType: 'application/x-protobuf', contentEncoding: undefined };
  return {
    name: `${label}loki push protobuf, 200 streams × 50 lines`,
    series: 200,
    decodedBytes: uncompress(loki.proto).length,
    run: () => void enforceLoki(input, POLICY, { mode: 'reject', maxDecodedBytes: 64 << 20 }),
  };
}

/** Loki push and OTLP traces, each beside the cost of decompressing (or parsing) its body. */
function otherWriteCases(): Case[] {
  const loki = lokiPushBodies(200, 50);
  const lokiBytes = uncompress(loki.proto).length;
  const push = (body: Buffer, contentType: string) => () =>
    void enforceLokiPush({ body, contentType, contentEncoding: undefined }, POLICY, { mode: 'reject', maxDecodedBytes: 64 << 20 });
  const otlp = otlpTracesBody(50, 40);
  const otlpInput = { body: otlp.gzip, contentType: 'application/x-protobuf', contentEncoding: 'gzip' };
  return [
    lokiProtoCase(enforceLokiPush, ''),
    {
      name: `floor: snappy decompression (${SNAPPY.name}) of that push`,
      series: 200,
      decodedBytes: lokiBytes,
      run: () => void uncompress(loki.proto),
    },
    {
      name: 'loki push JSON, 200 streams × 50 lines',
      series: 200,
      decodedBytes: loki.json.length,
      run: push(loki.json, 'application/json'),
    },
    {
      name: 'floor: JSON.parse of that push',
      series: 200,
      decodedBytes: loki.json.length,
      run: () => void JSON.parse(loki.json.toString('utf8')),
    },
    {
      name: 'otlp traces protobuf+gzip, 50 resources × 40 spans',
      series: 50,
      decodedBytes: otlp.decoded.length,
      run: () => void enforceOtlpTraces(otlpInput, POLICY, { maxDecodedBytes: 64 << 20 }),
    },
    { name: 'floor: gunzip of that export', series: 50, decodedBytes: otlp.decoded.length, run: () => void gunzipSync(otlp.gzip) },
  ];
}

/** Each case's median over `rounds` interleaved rounds of CPU µs per call (bench/cpu-median.ts), as a row. */
function measure(cases: readonly Case[], rounds: number, millisPerRound: number): WriteEnforceRow[] {
  const medians = medianCpuMicros(
    cases.map((c) => c.run),
    rounds,
    millisPerRound,
    20,
  );
  return cases.map((c, index) => {
    const micros = medians[index] as number;
    return {
      name: c.name,
      series: c.series,
      decodedBytes: c.decodedBytes,
      cpuMicrosPerRequest: micros,
      seriesPerSecond: (c.series * 1e6) / micros,
      decodedMBPerSecond: c.decodedBytes / micros,
    };
  });
}

export async function runWriteEnforceBench(rounds = 10, baselineDir?: string, only?: string): Promise<WriteEnforceRow[]> {
  const cases = buildCases(enforceRemoteWrite, '', true).filter((c) => only === undefined || c.name.includes(only));
  if (baselineDir !== undefined) {
    const url = pathToFileURL(`${baselineDir}/src/enforce/write/remote-write.ts`).href;
    const baseline = (await import(url)) as { enforceRemoteWrite: Enforce };
    const baselineLoki = (await import(pathToFileURL(`${baselineDir}/src/enforce/write/loki-push.ts`).href)) as {
      enforceLokiPush: EnforceLoki;
    };
    cases.push(...buildCases(baseline.enforceRemoteWrite, 'baseline: ', false, baselineLoki.enforceLokiPush));
  }
  return measure(cases, rounds, 200);
}

function formatRow(row: WriteEnforceRow): string {
  return `${row.name.padEnd(52)} ${row.cpuMicrosPerRequest.toFixed(0).padStart(7)} µs CPU/req  ${(row.seriesPerSecond / 1e6).toFixed(2)} M series/s  ${row.decodedMBPerSecond.toFixed(0)} MB/s decoded`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '10' },
      baseline: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const rows = await runWriteEnforceBench(Number(values.rounds), values.baseline, values.only);
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${rows.map(formatRow).join('\n')}\n`);
}
