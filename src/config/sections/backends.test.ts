import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../load.js';

const withUpstream = (upstream: Record<string, unknown>, limits?: Record<string, unknown>) => ({
  proxy: { upstreams: [{ match: '.*', ...upstream }] },
  ...(limits ? { limits } : {}),
});

function problems(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}

test('one URL, a list, or backends rows: one list of backends with weights; upstream is the first URL', () => {
  const single = parseConfig(withUpstream({ upstream: 'http://a:9090' })).proxy.upstreams[0]!;
  assert.deepEqual(
    single.backends.map((b) => [b.url.href, b.weight]),
    [['http://a:9090/', 1]],
  );
  assert.equal(single.upstream.href, 'http://a:9090/');
  assert.equal(single.balance, 'round_robin');
  const list = parseConfig(withUpstream({ upstream: ['http://a:9090', 'http://b:9090'] })).proxy.upstreams[0]!;
  assert.deepEqual(
    list.backends.map((b) => b.url.host),
    ['a:9090', 'b:9090'],
  );
  const rows = parseConfig(
    withUpstream({
      backends: [
        { url: 'https://a/prom', weight: 3 },
        { url: 'https://b/prom/', weight: 0 },
      ],
    }),
  ).proxy.upstreams[0]!;
  assert.deepEqual(
    rows.backends.map((b) => b.weight),
    [3, 0],
  );
  assert.equal(rows.upstream.href, 'https://a/prom');
});

const BAD: { name: string; raw: unknown; want: RegExp }[] = [
  { name: 'neither form', raw: withUpstream({}), want: /proxy\.upstreams\[0\]\.upstream: set upstream \(one URL or a list\) or backends/ },
  {
    name: 'both forms',
    raw: withUpstream({ upstream: 'http://a', backends: [{ url: 'http://b' }] }),
    want: /set upstream or backends, not both/,
  },
  {
    name: 'schemes differ',
    raw: withUpstream({ upstream: ['http://a', 'https://b'] }),
    want: /every backend must share the scheme and path/,
  },
  {
    name: 'paths differ',
    raw: withUpstream({ upstream: ['http://a/x', 'http://b/y'] }),
    want: /every backend must share the scheme and path/,
  },
  {
    name: 'a bad URL in the list',
    raw: withUpstream({ upstream: ['http://a', 'ftp://b'] }),
    want: /proxy\.upstreams\[0\]\.upstream\[1\]: upstream URL must be http or https/,
  },
  {
    name: 'only standbys',
    raw: withUpstream({ backends: [{ url: 'http://a', weight: 0 }] }),
    want: /at least one backend needs a weight above 0/,
  },
  { name: 'unknown policy', raw: withUpstream({ upstream: 'http://a', balance: 'random' }), want: /proxy\.upstreams\[0\]\.balance/ },
  {
    name: 'unknown health key',
    raw: withUpstream({ upstream: 'http://a', health: { path: '/x' } }),
    want: /proxy\.upstreams\[0\]\.health/,
  },
  {
    name: 'a queue without concurrency',
    raw: withUpstream({ upstream: 'http://a' }, { rules: [{ name: 'q', max_queue_duration: '1s' }] }),
    want: /limits\.rules\[0\]\.max_queue_duration: max_queue_duration needs concurrency/,
  },
];

for (const c of BAD) {
  test(`refused: ${c.name}`, () => {
    assert.match(problems(c.raw), c.want);
  });
}

test('the examples of docs/high-availability.md are valid configuration', async () => {
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('smol-toml');
  const page = await readFile(new URL('../../../docs/high-availability.md', import.meta.url), 'utf8');
  const blocks = [...page.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  assert.equal(blocks.length, 2);
  for (const block of blocks) {
    const [upstream] = parseConfig(parse(block)).proxy.upstreams;
    assert.ok((upstream?.backends.length ?? 0) > 1);
  }
});
