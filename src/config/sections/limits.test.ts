import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../load.js';

const base = { backend_type: 'env', proxy: { upstreams: [{ match: '.*', upstream: 'http://127.0.0.1:9090' }] } };

function problemsOf(limits: unknown): readonly string[] {
  try {
    parseConfig({ ...base, limits });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test('[limits] defaults to the memory backend and no rules', () => {
  const config = parseConfig(base);
  assert.equal(config.limits.backend, 'memory');
  assert.deepEqual(config.limits.rules, []);
});

test('[limits] durations are normalised and redis defaults filled', () => {
  const config = parseConfig({
    ...base,
    limits: { backend: 'redis', redis: { url: 'redis://r:6379', timeout: '5ms' }, rules: [{ name: 'a', max_range: '32d', rate: 2 }] },
  });
  assert.equal(config.limits.redis?.timeout, 5);
  assert.equal(config.limits.redis?.on_backend_error, 'allow');
  assert.equal(config.limits.rules[0]?.max_range, 32 * 86_400_000);
});

test('[limits] errors name the key path', () => {
  assert.deepEqual(problemsOf({ backend: 'redis' }), ['limits.redis: backend = "redis" needs [limits.redis] url']);
  assert.deepEqual(problemsOf({ rules: [{ name: 'a', burst: 3 }] }), ['limits.rules[0].burst: burst needs rate']);
  assert.match(problemsOf({ rules: [{ name: 'a', endpoints: ['reads'] }] })[0] ?? '', /^limits\.rules\[0\]\.endpoints\[0\]: /);
  assert.match(problemsOf({ rules: [{ name: 'a', rate: -1 }] })[0] ?? '', /^limits\.rules\[0\]\.rate: /);
  assert.match(problemsOf({ redis: { url: 'http://x' }, backend: 'redis' })[0] ?? '', /^limits\.redis\.url: /);
  assert.deepEqual(problemsOf({ rules: [{ name: 'a' }, { name: 'a' }] }), ['limits.rules[1].name: rule name a is used twice']);
});

test('[limits.redis] local_allowance: a whole number of tokens, its errors named by key', () => {
  const redis = { url: 'redis://r:6379' };
  const config = parseConfig({ ...base, limits: { backend: 'redis', redis: { ...redis, local_allowance: 50 } } });
  assert.equal(config.limits.redis?.local_allowance, 50);
  assert.equal(config.limits.redis?.local_allowance_ttl, 250);
  assert.equal(parseConfig({ ...base, limits: { backend: 'redis', redis } }).limits.redis?.local_allowance, undefined);
  assert.match(problemsOf({ backend: 'redis', redis: { ...redis, local_allowance: 0 } })[0] ?? '', /^limits\.redis\.local_allowance: /);
  assert.match(problemsOf({ backend: 'redis', redis: { ...redis, local_allowance: 2.5 } })[0] ?? '', /^limits\.redis\.local_allowance: /);
  assert.deepEqual(problemsOf({ backend: 'redis', redis: { ...redis, local_allowance: 10, local_allowance_ttl: '0s' } }), [
    'limits.redis.local_allowance_ttl: must be at least 1ms with local_allowance',
  ]);
});

test('the [limits] examples of docs/configuration.md are valid configuration', async () => {
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('smol-toml');
  const page = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  const blocks = [...page.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] as string).filter((b) => b.includes('[limits]'));
  assert.equal(blocks.length, 2);
  for (const block of blocks) {
    const config = parseConfig({ ...base, ...parse(block) });
    assert.ok(config.limits.rules.length > 0);
  }
});

test('[limits] query budgets need [query_cost] on, and budget_window needs a budget', () => {
  assert.deepEqual(problemsOf({ rules: [{ name: 'b', max_samples: 1e9 }] }), [
    'limits.rules[0].max_samples: max_samples needs [query_cost] enabled = true',
  ]);
  assert.deepEqual(problemsOf({ rules: [{ name: 'b', budget_window: '1h' }] }), [
    'limits.rules[0].budget_window: budget_window needs max_samples or max_query_seconds',
  ]);
  const config = parseConfig({
    ...base,
    query_cost: { enabled: true },
    limits: { rules: [{ name: 'b', max_query_seconds: 600, budget_window: '1d' }] },
  });
  assert.equal(config.limits.rules[0]?.budget_window, 86_400_000);
  assert.equal(config.query_cost.top_identities, 10);
});
