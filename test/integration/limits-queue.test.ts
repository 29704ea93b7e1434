import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw, type RawResponse } from '../servers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../servers/recording-upstream.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #22: a concurrency rule with max_queue_duration queues the request over its concurrency in a fair
// per-identity queue instead of refusing it at once; it is admitted in order as slots free, or refused with
// 429 queue_timeout and Retry-After once it waited its longest.
let upstream: RecordingUpstream;
let tokens: TempTokenFile;
let gateway: StartedGateway;
const held: (() => void)[] = [];

before(async () => {
  upstream = await startRecordingUpstream({
    handler: (_request, res) =>
      new Promise<void>((resolve) => {
        held.push(() => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":[]}');
          resolve();
        });
      }),
  });
  tokens = await createTempTokenFile({
    'tok-x': { tenant: 'team-a', name: 'x' },
    'tok-y': { tenant: 'team-a', name: 'y' },
    'tok-z': { tenant: 'team-z', name: 'z' },
  });
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    limits: {
      rules: [
        { name: 'team-queue', per: 'tenant', tenants: ['team-a'], concurrency: 1, max_queue_duration: '5s' },
        { name: 'short-queue', per: 'tenant', tenants: ['team-z'], concurrency: 1, max_queue_duration: '200ms' },
      ],
    },
    proxy: { upstreams: [{ name: 'raw', match: '.*', upstream: upstream.url, timeout: '10s' }] },
  });
});

after(async () => {
  for (const release of held.splice(0)) release();
  await gateway.stop();
  await upstream.stop();
  await tokens.remove();
});

const get = (token: string, tag: string): Promise<RawResponse> =>
  sendRaw(gateway.url, { path: `/q?tag=${tag}`, headers: { authorization: `Bearer ${token}` } });
const arrived = () => upstream.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('tag'));

/** Polls (bounded) until the condition holds. */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never: ${what}`);
}

async function queueLength(rule: string): Promise<number> {
  const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  const match = new RegExp(`scopegate_limit_queue_length\\{rule="${rule}"\\} (\\d+)`).exec(text);
  return Number(match?.[1] ?? 0);
}

test('queued requests are admitted in order as slots free, fairly between identities sharing the counter', async () => {
  const responses: Promise<RawResponse>[] = [get('tok-x', 'x0')];
  await until('x0 arrived', () => arrived().length === 1);
  // x1, x2, x3 from one identity, then y1 from another: y1 must not wait behind all of x's.
  for (const [token, tag, waiting] of [
    ['tok-x', 'x1', 1],
    ['tok-x', 'x2', 2],
    ['tok-x', 'x3', 3],
    ['tok-y', 'y1', 4],
  ] as const) {
    responses.push(get(token, tag));
    await until(`${tag} queued`, async () => (await queueLength('team-queue')) === waiting);
  }
  for (let i = 1; i <= 4; i++) {
    (held.shift() as () => void)();
    await until(`request ${i} admitted`, () => arrived().length === i + 1);
  }
  (held.shift() as () => void)();
  assert.deepEqual(arrived(), ['x0', 'x1', 'y1', 'x2', 'x3']);
  for (const res of await Promise.all(responses)) assert.equal(res.status, 200);
  const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.match(text, /scopegate_limit_queue_wait_seconds_count\{rule="team-queue",outcome="admitted"\} 4/);
});

test('a request that waits its max_queue_duration is refused 429 queue_timeout with Retry-After', async () => {
  upstream.reset();
  const first = get('tok-z', 'z0');
  await until('z0 arrived', () => arrived().length === 1);
  const started = performance.now();
  const refused = await get('tok-z', 'z1');
  const waited = performance.now() - started;
  assert.equal(refused.status, 429, refused.body.toString());
  assert.equal(refused.json().code, 'queue_timeout');
  assert.equal(refused.headers['retry-after'], '1');
  assert.ok(waited >= 190 && waited < 2_000, `waited ${waited} ms`);
  assert.deepEqual(arrived(), ['z0'], 'the refused request never reached the upstream');
  (held.shift() as () => void)();
  assert.equal((await first).status, 200);
  assert.equal(await queueLength('short-queue'), 0);
});
