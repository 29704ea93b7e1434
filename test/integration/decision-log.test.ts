import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { App } from '../../src/app.js';
import type { Preset } from '../../src/routing/endpoint.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';
import { metricValue as metricOnAdmin, untilMetric as untilMetricOnAdmin } from '../servers/admin-metrics.js';
import { runCli } from '../servers/run-cli.js';

// Issue #21 part 2: one decision record per request, to its own sink, chained so that an auditor can prove
// nothing was removed or changed (`scopegate audit verify`). Gateways on real sockets, files read back.

let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let dir: string;

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({
    'secret-token-a': { name: 'team-a', tenant: 'team-a', namespaces: ['team-a'] },
    'secret-token-none': { name: 'no-policy', tenant: 'team-c' },
    'secret-token-full': { name: 'ops', tenant: 'ops', namespace: '.*' },
  });
  dir = await mkdtemp(join(tmpdir(), 'scopegate-decisions-'));
});

after(async () => {
  await upstream.stop();
  await tokens.remove();
  await rm(dir, { recursive: true, force: true });
});

function gatewayConfig(decisionLog: Record<string, unknown>): Record<string, unknown> {
  return {
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'prom', match: '.*', upstream: upstream.url, type: 'prometheus', timeout: '5s' }] },
    limits: { rules: [{ name: 'everyone', rate: 1000 }] },
    decision_log: decisionLog,
  };
}

/** The file's lines once it holds `count` (the record is written when the response closes, after the client has it). */
async function linesOf(path: string, count: number): Promise<Record<string, unknown>[]> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const lines = text.split('\n').filter((l) => l !== '');
    if (lines.length >= count) return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${path} never held ${count} lines`);
}

function query(gateway: StartedGateway, token: string, extra: Record<string, string> = {}) {
  return sendRaw(gateway.url, {
    path: `/api/v1/query?query=${encodeURIComponent('rate(http_requests_total[5m])')}`,
    headers: { authorization: `Bearer ${token}`, ...extra },
  });
}

test('file sink: one record per decision, with identity, policy and its source, queries before and after, never the token; audit verify proves the chain', async () => {
  const path = join(dir, 'decisions.jsonl');
  const gateway = await startTestGateway(gatewayConfig({ sink: 'file', path, fsync: 'always' }));
  try {
    assert.equal((await query(gateway, 'secret-token-a')).status, 200);
    assert.equal((await query(gateway, 'secret-token-a', { 'x-scope-orgid': 'team-b' })).status, 403);
    assert.equal((await query(gateway, 'secret-token-none')).status, 403);
    assert.equal((await query(gateway, 'not-a-token')).status, 401);
    const [allowed, otherTenant, noPolicy, unknown] = await linesOf(path, 4);
    assert.deepEqual(
      { ...allowed, time: 'T', requestId: 'R', traceId: 'X', durationMs: 0, responseBytes: 0 },
      {
        seq: 0,
        prev: '0'.repeat(64),
        time: 'T',
        requestId: 'R',
        traceId: 'X',
        decision: 'allow',
        status: 200,
        method: 'GET',
        path: '/api/v1/query',
        identity: { authenticator: 'static-token', subject: 'team-a', tenants: ['team-a'], scopes: ['read', 'write'] },
        tenants: ['team-a'],
        upstream: 'prom',
        endpoint: 'prometheus.query',
        policy: { text: 'namespace="team-a"', source: 'token_entry' },
        limits: { rules: ['everyone'] },
        query: { before: 'query=rate(http_requests_total[5m])', after: 'query=rate(http_requests_total{namespace="team-a"}[5m])' },
        upstreamStatus: 200,
        responseBytes: 0,
        durationMs: 0,
      },
    );
    assert.ok((allowed?.responseBytes as number) > 30, 'the bytes written to the client, headers included');
    assert.equal(allowed?.requestId, upstream.requests[0]?.headers['x-request-id'], 'the request id the upstream saw');
    assert.equal(otherTenant?.decision, 'deny');
    assert.equal(otherTenant?.code, 'tenant_not_allowed');
    assert.equal(otherTenant?.upstreamStatus, undefined);
    assert.deepEqual(noPolicy?.policy, { text: 'none', source: 'token_entry' });
    assert.equal(noPolicy?.code, 'no_label_policy');
    assert.equal(unknown?.code, 'invalid_token');
    assert.equal(unknown?.identity, undefined, 'nobody was authenticated');
    assert.equal(unknown?.decidedBy, 'static-token');
    const text = await readFile(path, 'utf8');
    assert.doesNotMatch(text, /secret-token|not-a-token/, 'never a credential');
  } finally {
    await gateway.stop();
  }

  const verified = await runCli(['audit', 'verify', path]);
  assert.equal(verified.code, 0, verified.stdout);
  assert.match(verified.stdout, /^ok: 4 lines \(seq 0\.\.3\) in 1 file; last hash [0-9a-f]{64}\n$/);
  const lines = (await readFile(path, 'utf8')).split('\n');
  await writeFile(path, [lines[0], lines[2], lines[3], ''].join('\n'));
  const broken = await runCli(['audit', 'verify', path]);
  assert.equal(broken.code, 1);
  assert.match(broken.stdout, /^BROKEN: .*decisions\.jsonl:2: seq 2 follows seq 0 .*: seq 1 is missing\n$/);
});

test('queries = "sha256": the digests only', async () => {
  const path = join(dir, 'hashed.jsonl');
  const gateway = await startTestGateway(gatewayConfig({ sink: 'file', path, queries: 'sha256' }));
  try {
    assert.equal((await query(gateway, 'secret-token-a')).status, 200);
    const [record] = await linesOf(path, 1);
    const { beforeSha256, afterSha256 } = (record as { query: unknown }).query as { beforeSha256: string; afterSha256: string };
    assert.match(beforeSha256, /^[0-9a-f]{64}$/);
    assert.notEqual(beforeSha256, afterSha256);
    assert.doesNotMatch(await readFile(path, 'utf8'), /http_requests_total/);
  } finally {
    await gateway.stop();
  }
});

// A preset only in this file, whose query parameter has its own name: the record reads the row, no list of names.
const ACME: Preset = {
  type: 'acme',
  components: [],
  writesByDefault: false,
  endpoints: [
    {
      name: 'acme.eval',
      methods: ['GET'],
      path: '/acme/eval',
      scope: 'read',
      query: { params: ['expr'], dialect: 'promql', kind: 'instant' },
      transformRequest: (req) => {
        req.query = req.query.replace('expr=up', 'expr=up%7Bnamespace%3D%22team-a%22%7D');
      },
    },
  ],
};

test("the query text is the endpoint row's parameters (a row reading `expr`), before and after; other parameters are not recorded", async () => {
  const path = join(dir, 'row.jsonl');
  const gateway = await startTestGateway(
    { ...gatewayConfig({ sink: 'file', path }), proxy: { upstreams: [{ name: 'acme', match: '.*', upstream: upstream.url }] } },
    { presetFor: (config) => (config.name === 'acme' ? ACME : undefined) },
  );
  try {
    const sent = await sendRaw(gateway.url, {
      path: '/acme/eval?expr=up&query=secret&at=1',
      headers: { authorization: 'Bearer secret-token-a' },
    });
    assert.equal(sent.status, 200);
    const [record] = await linesOf(path, 1);
    assert.equal(record?.endpoint, 'acme.eval');
    assert.deepEqual(record?.query, { before: 'expr=up', after: 'expr=up{namespace="team-a"}' });
  } finally {
    await gateway.stop();
  }
});

const metricValue = (gateway: StartedGateway, name: string) => metricOnAdmin(gateway.adminUrl, name);
const untilMetric = (gateway: StartedGateway, name: string, atLeast: number) =>
  untilMetricOnAdmin(gateway.adminUrl, name, atLeast, { attempts: 200 });

// /dev/full: every write fails with ENOSPC, a disk that is full.
test('on_overflow = "fail_closed": while the log cannot write, requests are refused with 503 decision_log_unavailable', async () => {
  const gateway = await startTestGateway(gatewayConfig({ sink: 'file', path: '/dev/full', on_overflow: 'fail_closed' }));
  try {
    assert.equal((await query(gateway, 'secret-token-a')).status, 200, 'accepted before anything failed');
    await untilMetric(gateway, 'scopegate_decision_log_write_errors_total', 1);
    upstream.reset();
    const refused = await query(gateway, 'secret-token-a');
    assert.equal(refused.status, 503);
    assert.equal(refused.json().code, 'decision_log_unavailable');
    assert.equal(upstream.requests.length, 0, 'a request that cannot be recorded is not sent');
  } finally {
    await gateway.stop();
  }
});

test('on_overflow = "drop": requests go on, every record that cannot be kept is counted', async () => {
  const gateway = await startTestGateway(gatewayConfig({ sink: 'file', path: '/dev/full', max_queue: 1 }));
  try {
    assert.equal(await metricValue(gateway, 'scopegate_decision_log_dropped_total'), 0);
    for (let i = 0; i < 3; i++) assert.equal((await query(gateway, 'secret-token-a')).status, 200);
    await untilMetric(gateway, 'scopegate_decision_log_dropped_total', 2);
  } finally {
    await gateway.stop();
  }
});

test('a reload keeps the running log: one writer, one unbroken chain', async () => {
  const path = join(dir, 'reloaded.jsonl');
  const raw = gatewayConfig({ sink: 'file', path });
  const gateway = await startTestGateway(raw);
  try {
    assert.equal((await query(gateway, 'secret-token-a')).status, 200);
    const { parseConfig } = await import('../../src/config/load.js');
    const current = gateway.server.current();
    const reloaded = await gateway.server.reload(
      parseConfig({ ...raw, admin: { listen: '127.0.0.1:0' }, proxy: { ...(raw.proxy as object), listen: '127.0.0.1:0' } }),
    );
    assert.equal(reloaded, true);
    assert.notEqual(gateway.server.current(), current, 'a new app serves');
    assert.equal((gateway.server.current() as App).decisionLog, (current as App).decisionLog, 'the same log, handed over');
    assert.equal((await query(gateway, 'secret-token-a')).status, 200);
    assert.equal((await query(gateway, 'secret-token-none')).status, 403);
    await linesOf(path, 3);
  } finally {
    await gateway.stop();
  }
  const verified = await runCli(['audit', 'verify', path]);
  assert.equal(verified.code, 0, verified.stdout);
  assert.match(verified.stdout, /^ok: 3 lines \(seq 0\.\.2\)/);
});

for (const when of ['while the upstream has not answered', 'while the answer streams']) {
  test(`a client that leaves after sending a streamed body, ${when}: the record says 499 and the gateway stays up`, async () => {
    // undici, abandoning a request whose body it streamed from the client's, clears that request's \`socket\`:
    // the record must not read it when the response closes (it did, and the process died on a TypeError).
    const slow = createServer((req, res) => {
      req.resume();
      if (when === 'while the answer streams') res.writeHead(200).write('x'.repeat(100_000));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const path = join(dir, `decisions-left-${when.length}.jsonl`);
    const gateway = await startTestGateway({
      backend_type: 'file',
      file: { path: tokens.path },
      proxy: {
        upstreams: [{ name: 'raw', match: '.*', upstream: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, timeout: '5s' }],
      },
      decision_log: { sink: 'file', path, fsync: 'always' },
    });
    try {
      const { hostname, port } = new URL(gateway.url);
      const socket = connect(Number(port), hostname);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.write('POST /upload HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer secret-token-full\r\nContent-Length: 2000\r\n\r\n');
      socket.write('x'.repeat(2000));
      await new Promise((resolve) => setTimeout(resolve, 150));
      socket.destroy();
      const [record] = await linesOf(path, 1);
      assert.equal(record?.status, 499);
      const next = await sendRaw(gateway.url, { path: '/again' });
      assert.equal(next.status, 401, 'the gateway still answers');
    } finally {
      await gateway.stop();
      slow.closeAllConnections();
      slow.close();
    }
  });
}

test('a streamed request body to an upstream that is down: 502, recorded, and the gateway stays up', async () => {
  const path = join(dir, 'decisions-upstream-down.jsonl');
  const { findFreePort } = await import('../servers/free-port.js');
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'raw', match: '.*', upstream: `http://127.0.0.1:${await findFreePort()}`, timeout: '5s' }] },
    decision_log: { sink: 'file', path, fsync: 'always' },
  });
  try {
    const sent = await sendRaw(gateway.url, {
      method: 'POST',
      path: '/upload',
      headers: { authorization: 'Bearer secret-token-full', 'content-type': 'application/octet-stream' },
      body: 'x'.repeat(50_000),
    });
    assert.equal(sent.status, 502);
    const [record] = await linesOf(path, 1);
    assert.equal(record?.status, 502);
    assert.equal((await sendRaw(gateway.url, { path: '/after', headers: { authorization: 'Bearer secret-token-full' } })).status, 502);
  } finally {
    await gateway.stop();
  }
});
