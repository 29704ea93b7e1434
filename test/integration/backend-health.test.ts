import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { answerAs, startKillableBackends, type KillableBackend } from '../servers/killable-backend.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #22: health of the backends of a balanced upstream. Active checks (a GET of check_path every 50 ms)
// take a killed backend out and bring it back once restarted; a slowed backend that times out is out for its
// back-off; /ready and /metrics show each backend.
let tokens: TempTokenFile;
before(async () => {
  tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', name: 'a' } });
});
after(async () => tokens.remove());

async function gatewayFor(t: TestContext, upstream: Record<string, unknown>): Promise<StartedGateway> {
  const gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: { upstreams: [{ name: 'ha', match: '.*', timeout: '2s', dial_timeout: '300ms', ...upstream }] },
  });
  t.after(() => gateway.stop());
  return gateway;
}

const get = (gateway: StartedGateway, path = '/q'): Promise<RawResponse> =>
  sendRaw(gateway.url, { path, headers: { authorization: 'Bearer tok-a' } });
const answeredBy = (res: RawResponse) => (res.json() as { backend?: string }).backend;

async function backendStates(gateway: StartedGateway): Promise<Record<string, string>> {
  const ready = (await (await fetch(`${gateway.adminUrl}/ready`)).json()) as { details?: Record<string, Record<string, string>> };
  return ready.details?.['upstream ha'] ?? {};
}

/** Polls /ready (bounded: 300 × 20 ms) until the backend is in the state. */
async function waitForState(gateway: StartedGateway, backend: KillableBackend, state: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await backendStates(gateway))[backend.url] === state) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${backend.name} never became ${state}: ${JSON.stringify(await backendStates(gateway))}`);
}

test('the active check takes a killed backend out (no request reaches it) and brings it back once it answers', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  for (const backend of [a!, b!]) {
    backend.setHandler((hit, res) => (hit.url === '/-/ready' ? res.writeHead(200).end('ok') : answerAs(backend.name)(hit, res)));
  }
  const gateway = await gatewayFor(t, {
    upstream: [a!.url, b!.url],
    health: { check_path: '/-/ready', check_interval: '50ms', check_timeout: '2s' },
  });
  assert.deepEqual(await backendStates(gateway), { [a!.url]: 'up', [b!.url]: 'up' });
  assert.ok(
    a!.hits.some((h) => h.url === '/-/ready' && h.method === 'GET'),
    'checked at start',
  );

  await a!.kill();
  await waitForState(gateway, a!, 'down');
  for (let i = 0; i < 6; i++) assert.equal(answeredBy(await get(gateway)), 'b1');

  await a!.restart();
  await waitForState(gateway, a!, 'up');
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 4; i++) seen.add(answeredBy(await get(gateway)));
  assert.deepEqual([...seen].sort(), ['b0', 'b1']);

  // A check that answers 503 is a failure too.
  a!.setHandler((hit, res) => (hit.url === '/-/ready' ? res.writeHead(503).end('not ready') : answerAs('b0')(hit, res)));
  await waitForState(gateway, a!, 'down');
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`scopegate_upstream_backend_up\\{upstream="ha",backend="${a!.url}",state="down"\\} 0`));
  assert.match(metrics, new RegExp(`scopegate_upstream_backend_up\\{upstream="ha",backend="${b!.url}",state="up"\\} 1`));
  assert.match(metrics, new RegExp(`scopegate_upstream_backend_in_flight\\{upstream="ha",backend="${b!.url}"\\} 0`));
  assert.match(metrics, new RegExp(`scopegate_upstream_backend_duration_seconds_count\\{upstream="ha",backend="${b!.url}"\\} \\d+`));
});

test('a slowed backend that times out is out for its back-off: the next requests do not wait on it', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  const held: (() => void)[] = [];
  a!.setHandler((hit, res) => held.push(() => answerAs('b0')(hit, res)));
  t.after(() => {
    for (const release of held) release();
  });
  const gateway = await gatewayFor(t, {
    upstream: [a!.url, b!.url],
    balance: 'first_available',
    timeout: '300ms',
    health: { backoff: '1m' },
  });
  const timedOut = await get(gateway);
  assert.equal(timedOut.status, 504, 'the request that met the slow backend: its deadline passed, not retried');
  for (let i = 0; i < 3; i++) assert.equal(answeredBy(await get(gateway)), 'b1');
  assert.equal(a!.hits.length, 1, 'none went to (and waited on) the slow one');
  assert.equal((await backendStates(gateway))[a!.url], 'down');
});

test('configured statuses take a backend out (passive); others do not', async (t) => {
  const [a, b] = await startKillableBackends(t, 2);
  a!.setHandler((_hit, res) => res.writeHead(502).end('bad'));
  b!.setHandler((_hit, res) => res.writeHead(404).end('nope'));
  const gateway = await gatewayFor(t, { upstream: [a!.url, b!.url], health: { unhealthy_status_codes: [502], backoff: '1m' } });
  assert.equal((await get(gateway)).status, 502);
  assert.equal((await get(gateway)).status, 404);
  assert.equal((await get(gateway)).status, 404, 'b0 is out');
  assert.deepEqual(await backendStates(gateway), { [a!.url]: 'down', [b!.url]: 'up' });
});
