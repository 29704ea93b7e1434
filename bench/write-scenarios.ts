import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROMQL_HOST } from './bodies.js';
import { lokiPushBodies, otlpTracesBody, remoteWriteBody, remoteWriteV2Body } from './write-bodies.js';
import type { WrkRequest } from './wrk.js';

/**
 * The write scenarios of `npm run bench`: each a POST of one body, generated once per run (bench/write-bodies.ts)
 * and written to a file wrk's script reads. Sent to scopegate with a full-access token (pass-through: the body is
 * not decoded) and with one limited to `namespace="team-a"` (every series or stream checked), and to the Go peer
 * where it does the same work (remote write 1.0: bench/go-peer/write.go).
 */
export const WRITE_SCENARIOS = ['rw1 2k', 'rw1 10k', 'rw1 inject', 'rw2 2k', 'loki proto', 'loki json', 'otlp'] as const;
export type WriteScenario = (typeof WRITE_SCENARIOS)[number];

export interface WriteBody {
  readonly host: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly file: string;
  readonly bytes: number;
  /** Series (Loki: streams; OTLP: resource spans) per request. */
  readonly series: number;
  /** The Go peer does this scenario's work (remote write 1.0 with a limited token). */
  readonly goChecks: boolean;
}

const RW1 = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const RW2 = {
  'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '2.0.0',
};

/** Writes every scenario's body into `dir`. */
export async function writeScenarioBodies(dir: string): Promise<Record<WriteScenario, WriteBody>> {
  const loki = lokiPushBodies(200, 50);
  const otlp = otlpTracesBody(50, 40);
  const specs: Record<WriteScenario, Omit<WriteBody, 'file' | 'bytes'> & { readonly body: Buffer }> = {
    'rw1 2k': {
      host: PROMQL_HOST,
      path: '/api/v1/write',
      headers: RW1,
      body: remoteWriteBody({ series: 2000 }),
      series: 2000,
      goChecks: true,
    },
    'rw1 10k': {
      host: PROMQL_HOST,
      path: '/api/v1/write',
      headers: RW1,
      body: remoteWriteBody({ series: 10000 }),
      series: 10000,
      goChecks: true,
    },
    'rw1 inject': {
      host: 'inject.bench',
      path: '/api/v1/write',
      headers: RW1,
      body: remoteWriteBody({ series: 2000, withoutNamespace: true }),
      series: 2000,
      goChecks: false,
    },
    'rw2 2k': {
      host: PROMQL_HOST,
      path: '/api/v1/write',
      headers: RW2,
      body: remoteWriteV2Body({ series: 2000 }),
      series: 2000,
      goChecks: false,
    },
    'loki proto': {
      host: 'loki.bench',
      path: '/loki/api/v1/push',
      headers: { 'content-type': 'application/x-protobuf' },
      body: loki.proto,
      series: 200,
      goChecks: false,
    },
    'loki json': {
      host: 'loki.bench',
      path: '/loki/api/v1/push',
      headers: { 'content-type': 'application/json' },
      body: loki.json,
      series: 200,
      goChecks: false,
    },
    otlp: {
      host: 'tempo.bench',
      path: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: otlp.gzip,
      series: 50,
      goChecks: false,
    },
  };
  const out = {} as Record<WriteScenario, WriteBody>;
  for (const scenario of WRITE_SCENARIOS) {
    const { body, ...spec } = specs[scenario];
    const file = join(dir, `write-${scenario.replace(/\W/g, '-')}.bin`);
    await writeFile(file, body);
    out[scenario] = { ...spec, file, bytes: body.length };
  }
  return out;
}

/** The request of a write scenario, with `token`; the Host routes it on scopegate (other proxies ignore it). */
export function writeRequest(body: WriteBody, token: string): WrkRequest {
  return {
    method: 'POST',
    path: body.path,
    headers: { authorization: `Bearer ${token}`, host: body.host, ...body.headers },
    bodyFile: body.file,
  };
}
