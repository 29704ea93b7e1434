import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../src/cli/args.js';
import { explain } from '../../src/cli/explain.js';
import type { Preset } from '../../src/routing/endpoint.js';
import { builtInPresets } from '../../src/routing/presets/index.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS } from '../servers/remote-write-body.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #18: what an endpoint is lives on its row. A preset that exists only in this file, with its own
// parameter names, gets the cost guards, the write size guard and `explain` from its rows alone: no line of
// limits/, cli/ or anywhere else names it.

const ACME: Preset = {
  type: 'acme',
  components: [],
  writesByDefault: true,
  endpoints: [
    {
      name: 'acme.eval',
      methods: ['GET', 'POST'],
      path: '/acme/eval',
      scope: 'read',
      bufferBody: true,
      query: {
        params: ['expr'],
        dialect: 'promql',
        kind: 'range',
        times: { format: 'unix-or-rfc3339', params: { start: 'from', end: 'to', step: 'resolution' }, span: { kind: 'required' } },
      },
    },
    {
      name: 'acme.at',
      methods: ['GET'],
      path: '/acme/at',
      scope: 'read',
      query: { params: ['expr'], dialect: 'promql', kind: 'instant', times: { format: 'unix-or-rfc3339', params: { time: 'at' } } },
    },
    {
      name: 'acme.ingest',
      methods: ['POST'],
      path: '/acme/ingest',
      scope: 'write',
      bufferBody: true,
      writeFormat: 'prometheus-remote-write',
    },
  ],
};

const RULES = [
  { name: 'acme-cost', upstreams: ['acme'], max_range: '1h', min_step: '15s', max_lookback: '1h', max_query_bytes: 100 },
  { name: 'acme-write', endpoints: ['acme.ingest'], max_series: 2 },
];

let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;
let dir: string;

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({ 'tok-acme': { tenant: 'team-a', name: 'acme-user', scopes: ['read', 'write'] } });
  gateway = await startTestGateway(
    {
      backend_type: 'file',
      file: { path: tokens.path },
      limits: { rules: RULES },
      proxy: { upstreams: [{ name: 'acme', match: '.*', upstream: upstream.url }] },
    },
    { presetFor: (config) => (config.name === 'acme' ? ACME : undefined) },
  );
  dir = await mkdtemp(join(tmpdir(), 'scopegate-row-'));
});

after(async () => {
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
  await rm(dir, { recursive: true, force: true });
});

function send(path: string, extra: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return sendRaw(gateway.url, { path, ...extra, headers: { authorization: 'Bearer tok-acme', host: 'acme.example', ...extra.headers } });
}

function assertRefused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(res.json().code, code);
}

test("the cost guards read the test preset's own parameter names (expr, from, to, resolution, at) from its rows", async () => {
  upstream.reset();
  const evalPath = (params: Record<string, string>) => `/acme/eval?${new URLSearchParams(params)}`;
  assert.equal((await send(evalPath({ expr: 'up', from: '0', to: '3600', resolution: '60' }))).status, 200);
  assertRefused(await send(evalPath({ expr: 'up', from: '0', to: '3601', resolution: '60' })), 422, 'query_range_too_long');
  assertRefused(await send(evalPath({ expr: 'up', from: '0', to: '600', resolution: '1' })), 422, 'step_too_small');
  assertRefused(await send(evalPath({ expr: 'up', from: '0', resolution: '60' })), 400, 'invalid_time_range');
  assertRefused(
    await send(evalPath({ expr: `up{job="${'x'.repeat(100)}"}`, from: '0', to: '60', resolution: '60' })),
    422,
    'query_too_long',
  );
  assertRefused(await send(`/acme/at?${new URLSearchParams({ expr: 'rate(up[2h])', at: '0' })}`), 422, 'lookback_too_long');
  assert.equal((await send(`/acme/at?${new URLSearchParams({ expr: 'rate(up[5m])' })}`)).status, 200);
  assert.deepEqual(
    upstream.requests.map((r) => r.url.split('?')[0]),
    ['/acme/eval', '/acme/at'],
    'only the requests within every guard arrived',
  );
});

test("the write size guard reads the test preset's write format from its row", async () => {
  upstream.reset();
  const series = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', i: String(i) }, samples: [[1, 1000] as const] }));
  const ingest = (n: number) =>
    send('/acme/ingest', { method: 'POST', body: encodeWriteRequest(series(n)), headers: { ...REMOTE_WRITE_HEADERS } });
  assert.equal((await ingest(2)).status, 200);
  assertRefused(await ingest(3), 422, 'too_many_series');
  assert.equal(upstream.requests.length, 1);
});

test("explain --type acme rewrites with the language of the test preset's query rows", async () => {
  const config = join(dir, 'scopegate.json');
  await writeFile(
    config,
    JSON.stringify({ backend_type: 'file', file: { path: tokens.path }, proxy: { upstreams: [{ match: '.*', upstream: upstream.url }] } }),
  );
  const args = parseArgs([
    'explain',
    '--config',
    config,
    '--type',
    'acme',
    '--policy',
    '{"namespaces":["team-a"]}',
    '--query',
    'rate(up[5m])',
  ]);
  const presets = [...builtInPresets(), ACME];
  assert.deepEqual(await explain(config, args, { presets }), {
    text: '# policy: namespace="team-a"\nrate(up{namespace="team-a"}[5m])',
    refused: false,
  });
  await assert.rejects(
    explain(config, parseArgs(['explain', '--type', 'acme', '--policy', '{}', '--query', 'up']), { presets: builtInPresets() }),
    /--type must be one of/,
  );
});
