import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { startPrometheus, type PrometheusServer } from '../servers/prometheus.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';

// Issue #22, proof: an HA pair of real Prometheus servers (Debian package) with the same data behind one
// upstream; one is SIGKILLed while a bounded load of reads runs through the gateway. No read is lost: the ones
// that met the dead server before any response are retried on the other, and the dead one is out after its
// first failure. The figure (requests lost, retries) is printed for docs/high-availability.md.
let pair: PrometheusServer[];
let tokens: TempTokenFile;
let gateway: StartedGateway;

before(async () => {
  pair = await Promise.all([startPrometheus(), startPrometheus()]);
  tokens = await createTempTokenFile({ 'tok-a': { tenant: 'team-a', name: 'a', namespace: 'team-a' } });
  gateway = await startTestGateway({
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      upstreams: [
        {
          name: 'prom-ha',
          match: '.*',
          type: 'prometheus',
          upstream: pair.map((p) => p.url),
          timeout: '5s',
          dial_timeout: '500ms',
          max_retries: 1,
          health: { backoff: '30s' },
        },
      ],
    },
  });
});

after(async () => {
  await gateway.stop();
  await Promise.all(pair.map((p) => p.stop()));
  await tokens.remove();
});

interface VectorResponse {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('an HA pair with one Prometheus killed mid-load loses no read', async () => {
  const time = Math.max(...pair.map((p) => p.sampleTime));
  const query = new URLSearchParams({ query: 'sum(http_requests_total)', time: String(time) });
  const read = async (): Promise<string> => {
    const res = await fetch(`${gateway.url}/api/v1/query?${query}`, { headers: { authorization: 'Bearer tok-a' } });
    const text = await res.text();
    if (res.status !== 200) return `status ${res.status}: ${text}`;
    const body = JSON.parse(text) as VectorResponse;
    return body.data.result[0]?.value[1] ?? 'empty';
  };
  const expected = await read();
  assert.match(expected, /^\d+(\.\d+)?$/, expected);

  const total = 400;
  const concurrency = 8;
  const answers: string[] = [];
  let next = 0;
  let killed: Promise<void> | undefined;
  const worker = async () => {
    while (next < total) {
      next += 1;
      if (next === total / 4) killed = (pair[0] as PrometheusServer).kill();
      answers.push(await read());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await killed;
  const lost = answers.filter((a) => a !== expected);
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  const retries = [...metrics.matchAll(/scopegate_upstream_retries_total\{upstream="prom-ha",reason="(\w+)"\} (\d+)/g)].map(
    (m) => `${m[1]}=${m[2]}`,
  );
  console.log(
    `# HA pair: ${total} reads, ${concurrency} at a time, one Prometheus SIGKILLed after ${total / 4}: lost ${lost.length}; retries ${retries.join(', ') || 'none'}`,
  );
  assert.deepEqual(lost, [], 'no read lost');
  assert.equal(answers.length, total);
  assert.match(metrics, new RegExp(`scopegate_upstream_backend_up\\{upstream="prom-ha",backend="${pair[0]!.url}",state="down"\\} 0`));
});
