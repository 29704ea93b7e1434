import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { answerAs, startKillableBackend, type KillableBackend } from '../servers/killable-backend.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';
import type { HostResolver, ResolvedAddress } from '../../src/upstream/balancer/dns-discovery.js';

// Issue #22: backends found by DNS, re-resolved every 50 ms through an injected resolver whose answers the
// test changes: a backend added takes requests, one removed is drained (its request in flight completes).
let tokens: TempTokenFile;
before(async () => {
  tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', name: 'a' } });
});
after(async () => tokens.remove());

/** A resolver whose answers the test sets per name and kind; `fail` makes lookups throw. */
function fakeResolver() {
  const answers = new Map<string, readonly ResolvedAddress[]>();
  let failing = false;
  const resolve: HostResolver = (name, kind) => {
    if (failing) return Promise.reject(Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' }));
    return Promise.resolve(answers.get(`${kind} ${name}`) ?? []);
  };
  return {
    resolve,
    set: (kind: 'address' | 'srv', name: string, list: readonly ResolvedAddress[]) => answers.set(`${kind} ${name}`, list),
    fail: (value: boolean) => {
      failing = value;
    },
  };
}

async function gatewayFor(t: TestContext, resolver: HostResolver, upstream: Record<string, unknown>): Promise<StartedGateway> {
  const gateway = await startTestGateway(
    { backend_type: 'file', file: { path: tokens.path }, proxy: { upstreams: [{ name: 'ha', match: '.*', timeout: '2s', ...upstream }] } },
    { resolveHost: resolver },
  );
  t.after(() => gateway.stop());
  return gateway;
}

const get = (gateway: StartedGateway): Promise<RawResponse> =>
  sendRaw(gateway.url, { path: '/q', headers: { authorization: 'Bearer tok-a' } });
const answeredBy = (res: RawResponse) => (res.json() as { backend?: string }).backend;

async function backendKeys(gateway: StartedGateway): Promise<string[]> {
  const ready = (await (await fetch(`${gateway.adminUrl}/ready`)).json()) as { details?: Record<string, Record<string, string>> };
  return Object.keys(ready.details?.['upstream ha'] ?? {}).sort();
}

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never: ${what}`);
}

test('SRV: backends added are used, removed ones drained without dropping their request in flight; a failed lookup keeps the last answer', async (t) => {
  const list: KillableBackend[] = await Promise.all([startKillableBackend('b0'), startKillableBackend('b1')]);
  t.after(() => Promise.all(list.map((b) => b.stop())));
  const [b0, b1] = list as [KillableBackend, KillableBackend];
  const port = (b: KillableBackend) => Number(new URL(b.url).port);
  const dns = fakeResolver();
  dns.set('srv', '_http._tcp.prom.test', [{ address: '127.0.0.1', port: port(b0) }]);
  const gateway = await gatewayFor(t, dns.resolve, {
    upstream: 'http://_http._tcp.prom.test',
    dns: { refresh_interval: '50ms', srv: true },
  });
  assert.deepEqual(await backendKeys(gateway), [b0.url], 'resolved before the gateway serves');
  assert.equal(answeredBy(await get(gateway)), 'b0');

  dns.set('srv', '_http._tcp.prom.test', [
    { address: '127.0.0.1', port: port(b0) },
    { address: '127.0.0.1', port: port(b1) },
  ]);
  await until('b1 added', async () => (await backendKeys(gateway)).length === 2);
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 4; i++) seen.add(answeredBy(await get(gateway)));
  assert.deepEqual([...seen].sort(), ['b0', 'b1']);

  // A request in flight on b0 when b0 leaves the answer: it completes.
  let release = () => {};
  b0.setHandler((hit, res) => {
    release = () => answerAs('b0')(hit, res);
  });
  const before = b0.hits.length;
  let inFlight: Promise<RawResponse> | undefined;
  for (let i = 0; i < 2 && inFlight === undefined; i++) {
    const seenBy1 = b1.hits.length;
    const pending = get(gateway);
    await until('a request reached a backend', async () => b0.hits.length > before || b1.hits.length > seenBy1);
    if (b0.hits.length > before) inFlight = pending;
    else await pending;
  }
  assert.ok(inFlight, 'one request is held on b0');
  dns.set('srv', '_http._tcp.prom.test', [{ address: '127.0.0.1', port: port(b1) }]);
  await until('b0 drained', async () => (await backendKeys(gateway)).join() === b1.url);
  for (let i = 0; i < 3; i++) assert.equal(answeredBy(await get(gateway)), 'b1');
  release();
  const drained = await inFlight;
  assert.equal(drained.status, 200);
  assert.equal(answeredBy(drained), 'b0');

  dns.fail(true);
  await new Promise((resolve) => setTimeout(resolve, 120)); // two refresh intervals of failed lookups
  assert.deepEqual(await backendKeys(gateway), [b1.url], 'kept');
  assert.equal(answeredBy(await get(gateway)), 'b1');
});

test("A/AAAA: a name resolving to two addresses is two backends on the URL's port", async (t) => {
  const first = await startKillableBackend('b0');
  t.after(() => first.stop());
  const port = Number(new URL(first.url).port);
  let second: KillableBackend;
  try {
    second = await startKillableBackend('b1', port, '127.0.0.2');
  } catch {
    t.skip('127.0.0.2 is not a loopback address here');
    return;
  }
  t.after(() => second.stop());
  const dns = fakeResolver();
  dns.set('address', 'prom.test', [{ address: '127.0.0.1' }, { address: '127.0.0.2' }]);
  const gateway = await gatewayFor(t, dns.resolve, { upstream: `http://prom.test:${port}`, dns: { refresh_interval: '50ms' } });
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 4; i++) seen.add(answeredBy(await get(gateway)));
  assert.deepEqual([...seen].sort(), ['b0', 'b1']);
});
