import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { startRedis, type RedisServer } from '../servers/redis.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #14: the Redis backend, against a real redis-server. Two gateways (each its own app and Redis client)
// share one Redis and so one limit; Redis stopped mid-test: "allow" lets requests through, "deny" answers 503
// and /ready says so; nothing hangs; the limits apply again once Redis is back on the same port.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let redis: RedisServer;
const started: StartedGateway[] = [];
let nowMs = Date.UTC(2026, 10, 29, 12);
const clock = { now: () => nowMs };

const RULES = [
  { name: 'shared-rate', upstreams: ['raw'], rate: 0.001, burst: 10 },
  { name: 'shared-slots', per: 'tenant', upstreams: ['slow'], concurrency: 2 },
  // Rate and concurrency on one route, and a cost guard (which Redis never sees).
  { name: 'both-rate', per: 'tenant', upstreams: ['both'], rate: 0.001, burst: 2 },
  { name: 'both-slots', per: 'tenant', upstreams: ['both'], concurrency: 1 },
  { name: 'both-cost', upstreams: ['both'], max_query_bytes: 1000 },
];

async function gateway(onBackendError: 'allow' | 'deny', keyPrefix = 'sg-test:'): Promise<StartedGateway> {
  const started_ = await startTestGateway(
    {
      backend_type: 'file',
      file: { path: tokens.path },
      // A generous per-call timeout: the machine running the tests may be loaded; the slow-Redis test below
      // makes Redis slower than this.
      limits: {
        backend: 'redis',
        redis: { url: redis.url, timeout: '1s', connect_timeout: '1s', on_backend_error: onBackendError, key_prefix: keyPrefix },
        rules: RULES,
      },
      proxy: {
        upstreams: [
          { name: 'slow', match: 'slow\\.example', upstream: upstream.url, priority: 10 },
          { name: 'both', match: 'both\\.example', upstream: upstream.url, priority: 10 },
          { name: 'raw', match: '.*', upstream: upstream.url },
        ],
      },
    },
    { clock },
  );
  started.push(started_);
  return started_;
}

before(async () => {
  upstream = await startRecordingUpstream();
  tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', name: 'a' }, 'tok-b': { tenant: 'team-b', name: 'b' } });
  redis = await startRedis();
});

after(async () => {
  for (const g of started) await g.stop();
  await redis.stop();
  await upstream.stop();
  await tokens.remove();
});

function get(g: StartedGateway, token: string, host = 'raw.example'): Promise<RawResponse> {
  return sendRaw(g.url, { path: '/api/v1/labels', headers: { authorization: `Bearer ${token}`, host } });
}

async function readyStatus(g: StartedGateway): Promise<{ status: number; body: string }> {
  const res = await fetch(`${g.adminUrl}/ready`);
  return { status: res.status, body: await res.text() };
}

test('two gateways sharing one Redis admit no more than the limit together', async () => {
  const [one, two] = [await gateway('allow', 'shared:'), await gateway('allow', 'shared:')];
  const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => get(i % 2 === 0 ? one! : two!, 'tok-a')));
  const admitted = replies.filter((r) => r.status === 200).length;
  assert.equal(admitted, 10, 'a burst of 10, shared');
  for (const refused of replies.filter((r) => r.status !== 200)) {
    assert.equal(refused.status, 429);
    assert.equal(refused.json().code, 'rate_limited');
  }
  // Admits came from both gateways.
  assert.ok(replies.some((r, i) => i % 2 === 0 && r.status === 200) && replies.some((r, i) => i % 2 === 1 && r.status === 200));
  // The shared bucket refills at 0.001/s: one more request 1000 s later, on either gateway.
  nowMs += 1_000_000;
  assert.equal((await get(two!, 'tok-a')).status, 200);
  assert.equal((await get(one!, 'tok-a')).status, 429);
});

test('concurrency leases are shared too: two in flight on one gateway leave none on the other', async () => {
  const [one, two] = [await gateway('allow', 'slots:'), await gateway('allow', 'slots:')];
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  upstream.setHandler((_request, res) => {
    held.push(res);
    arrived();
  });
  const inFlight: Promise<RawResponse>[] = [];
  for (let i = 0; i < 2; i++) {
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    inFlight.push(get(one!, 'tok-a', 'slow.example'));
    await arrival;
  }
  const refused = await get(two!, 'tok-a', 'slow.example');
  assert.equal(refused.status, 429);
  assert.equal(refused.json().code, 'concurrency_limited');
  for (const res of held.splice(0)) res.writeHead(200).end('done');
  for (const reply of await Promise.all(inFlight)) assert.equal(reply.status, 200);
  upstream.setHandler((_request, res) => {
    res.writeHead(200).end('ok');
  });
  // Released: the other gateway gets a slot (the release is sent without waiting, so allow it a moment).
  let status = 0;
  for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
    status = (await get(two!, 'tok-a', 'slow.example')).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(status, 200);
});

/** Scripts Redis has run (EVALSHA and EVAL calls), from INFO commandstats. */
async function scriptCalls(): Promise<number> {
  const info = await redis.command('INFO commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

test('one round trip per request: the rates and leases of every matched rule in one script, same answers', async () => {
  const g = await gateway('deny', 'once:');
  upstream.setHandler((_request, res) => {
    res.writeHead(200).end('ok');
  });
  assert.equal((await get(g, 'tok-b', 'both.example')).status, 200, 'loads the script');
  const before = await scriptCalls();
  assert.equal((await get(g, 'tok-a', 'both.example')).status, 200);
  assert.equal(await scriptCalls(), before + 1, 'two rules with a rate or a slot, one script call');

  // The slot is held while the response is: a second request of the tenant is refused on concurrency (its
  // rate unit is taken first, as rule by rule), a third by the rate (burst 2).
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  const held: ServerResponse[] = [];
  upstream.setHandler((_request, res) => {
    held.push(res);
    arrived();
  });
  nowMs += 1_000_000;
  const first = get(g, 'tok-a', 'both.example');
  await arrival;
  const second = await get(g, 'tok-a', 'both.example');
  assert.equal(second.status, 429);
  assert.equal(second.json().code, 'concurrency_limited');
  for (const res of held.splice(0)) res.writeHead(200).end('done');
  assert.equal((await first).status, 200);
  const third = await get(g, 'tok-a', 'both.example');
  assert.equal(third.json().code, 'rate_limited');
  upstream.setHandler((_request, res) => {
    res.writeHead(200).end('ok');
  });
  // The lease was given back (without the response waiting for it): once the rate allows, the slot is free.
  let status = 0;
  for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
    nowMs += 1_000_000;
    status = (await get(g, 'tok-a', 'both.example')).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(status, 200);
});

test('the scripts are loaded again after SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)', async () => {
  const g = await gateway('deny', 'noscript:');
  assert.equal((await get(g, 'tok-b')).status, 200);
  assert.match(await redis.command('SCRIPT FLUSH'), /^\+OK/);
  assert.equal((await get(g, 'tok-b')).status, 200);
});

test('Redis slow: calls time out and the fail mode decides; nothing waits for Redis', async () => {
  const allow = await gateway('allow', 'slow:');
  const deny = await gateway('deny', 'slow:');
  let awake = false;
  const sleeping = redis.command('DEBUG SLEEP 3').then((reply) => {
    awake = true;
    return reply;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const [allowed, denied] = await Promise.all([get(allow, 'tok-b'), get(deny, 'tok-b')]);
  assert.equal(allowed.status, 200);
  assert.equal(denied.status, 503);
  assert.equal(denied.json().code, 'limits_unavailable');
  assert.equal(awake, false, 'both answered while Redis was still asleep');
  assert.match(await sleeping, /^\+OK/);
});

test('Redis down: allow lets through, deny refuses and /ready says so; the limits come back with Redis', async () => {
  const allow = await gateway('allow', 'down:');
  const deny = await gateway('deny', 'down:');
  const first = await get(deny, 'tok-b');
  assert.equal(first.status, 200, JSON.stringify(deny.logs.filter((l) => l.level !== 30)));
  const ready = await readyStatus(deny);
  assert.equal(ready.status, 200, ready.body);

  await redis.stop();
  for (let i = 0; i < 15; i++) assert.equal((await get(allow, 'tok-b')).status, 200, 'fail open: over the burst, but allowed');
  const denied = await get(deny, 'tok-b');
  assert.equal(denied.status, 503);
  assert.equal(denied.json().code, 'limits_unavailable');
  assert.equal(denied.headers['retry-after'], '1');
  const notReady = await readyStatus(deny);
  assert.equal(notReady.status, 503);
  assert.match(notReady.body, /limits_backend/);
  assert.equal((await readyStatus(allow)).status, 200, 'fail open does not make the gateway unready');
  const metrics = await (await fetch(`${allow.adminUrl}/metrics`)).text();
  assert.match(metrics, /scopegate_limit_backend_errors_total\{backend="redis",action="allowed"\} 15/);

  await redis.start();
  for (let attempt = 0; attempt < 200 && (await readyStatus(deny)).status !== 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal((await readyStatus(deny)).status, 200, 'reconnected in the background');
  // A fresh Redis: an empty bucket of 10, then 429 again. Counted through the gateway whose readiness shows it
  // has reconnected; the fail-open one reconnects on its own schedule (until then it lets requests through
  // uncounted), so it is asked until it answers 429 from the same, now empty, bucket.
  const replies = [];
  for (let i = 0; i < 11; i++) replies.push(await get(deny, 'tok-b'));
  assert.deepEqual(
    replies.map((r) => r.status),
    [...Array(10).fill(200), 429],
  );
  let fromAllow = 0;
  for (let attempt = 0; attempt < 200 && (fromAllow = (await get(allow, 'tok-b')).status) !== 429; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(fromAllow, 429, 'the fail-open gateway reconnected and shares the limit');
});

test('a gateway starts while Redis is down, and connects when it comes up', async () => {
  await redis.stop();
  const deny = await gateway('deny', 'late:');
  assert.equal((await get(deny, 'tok-b')).status, 503);
  assert.equal((await readyStatus(deny)).status, 503);
  await redis.start();
  for (let attempt = 0; attempt < 200 && (await readyStatus(deny)).status !== 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal((await get(deny, 'tok-b')).status, 200);
});
